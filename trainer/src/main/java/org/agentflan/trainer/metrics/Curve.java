package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.TreeMap;

/**
 * One series of a figure: a value per step, in step order. A step written twice (a resumed run repeating the steps
 * after its checkpoint) keeps the later line's value; a value that is not a finite number (the loss or gradient norm
 * of a skipped fp16 step, written as "NaN" or "Infinity") is left out, and the line joins the neighbouring steps.
 */
final class Curve {
    private final TreeMap<Long, Double> points = new TreeMap<>();

    /** Records {@code value} at {@code step}, replacing an earlier value of that step; a non-finite one removes it. */
    void put(long step, JsonNode value) {
        if (value != null && value.isNumber() && Double.isFinite(value.asDouble())) {
            points.put(step, value.asDouble());
        } else {
            points.remove(step);
        }
    }

    boolean isEmpty() {
        return points.isEmpty();
    }

    int size() {
        return points.size();
    }

    long lastStep() {
        return points.lastKey();
    }

    double[] steps() {
        return points.keySet().stream().mapToDouble(Long::doubleValue).toArray();
    }

    double[] values() {
        return points.values().stream().mapToDouble(Double::doubleValue).toArray();
    }
}
