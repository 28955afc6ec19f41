package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.source.SourceSpec;
import org.agentflan.dataprep.util.StableHash;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;

/**
 * Mixes sources by weight: weight w emits floor(w) copies of every conversation plus one more with probability
 * w - floor(w), so 0.5 keeps half and 2.5 emits 2 or 3 copies (2.5 on average). Copy k is decided by
 * hash(seed, source, id, k), so the result does not depend on partitioning. Copy 0 keeps its id; copy k >= 1 gets
 * {@code <id>#copy<k>} so every emitted sample has a distinct id. Sources without a weight keep weight 1.
 */
public final class SourceMixer implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Map<String, Double> weights;
    private final long seed;

    public SourceMixer(Map<String, Double> weights, long seed) {
        for (Map.Entry<String, Double> w : weights.entrySet()) {
            if (!(w.getValue() >= 0) || w.getValue().isInfinite()) {
                throw new IllegalArgumentException("weight of source '" + w.getKey() + "' must be finite and >= 0, got "
                        + w.getValue());
            }
        }
        this.weights = new HashMap<>(weights);
        this.seed = seed;
    }

    /** The weights of the configured sources. */
    public static SourceMixer of(List<SourceSpec> sources, long seed) {
        Map<String, Double> weights = new HashMap<>();
        for (SourceSpec s : sources) {
            weights.put(s.name(), s.weight());
        }
        return new SourceMixer(weights, seed);
    }

    public Dataset<Conversation> apply(Dataset<Conversation> conversations) {
        SourceMixer self = this;
        return conversations.flatMap((FlatMapFunction<Conversation, Conversation>) c -> self.copies(c).iterator(),
                Encoders.bean(Conversation.class));
    }

    List<Conversation> copies(Conversation c) {
        double weight = weights.getOrDefault(c.getSource(), 1.0);
        int whole = (int) Math.floor(weight);
        double fraction = weight - whole;
        List<Conversation> out = new ArrayList<>();
        for (int k = 0; k < whole; k++) {
            out.add(copy(c, k));
        }
        if (fraction > 0 && StableHash.uniform(seed, "mix", c.getSource(), c.getId(), whole) < fraction) {
            out.add(copy(c, whole));
        }
        return out;
    }

    private static Conversation copy(Conversation c, int k) {
        return k == 0 ? c : c.withId(c.getId() + "#copy" + k);
    }
}
