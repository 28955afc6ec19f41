package org.agentflan.trainer.inference;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy when the temperature is 0, otherwise softmax(logits / T)
 * restricted to the smallest set of most likely tokens whose probability reaches {@code topP} (nucleus sampling).
 * Seeded, so the same seed gives the same text.
 */
public final class Sampler {
    private final double temperature;
    private final double topP;
    private final SplittableRandom random;

    public Sampler(double temperature, double topP, long seed) {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    public int next(float[] logits) {
        if (temperature == 0) {
            return argMax(logits);
        }
        int n = logits.length;
        double max = logits[argMax(logits)];
        double[] probs = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp((logits[i] - max) / temperature);
            total += probs[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            probs[i] /= total;
        }
        Arrays.sort(order, (a, b) -> Double.compare(probs[b], probs[a]));
        // Keep tokens until their mass reaches top-p (always at least the most likely one).
        int kept = 0;
        double mass = 0;
        while (kept < n && (kept == 0 || mass < topP)) {
            mass += probs[order[kept]];
            kept++;
        }
        double pick = random.nextDouble() * mass;
        for (int i = 0; i < kept; i++) {
            pick -= probs[order[i]];
            if (pick < 0) {
                return order[i];
            }
        }
        return order[kept - 1];
    }

    static int argMax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
