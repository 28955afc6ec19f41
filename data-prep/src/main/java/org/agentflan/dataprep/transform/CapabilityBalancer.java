package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.util.StableHash;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;

/**
 * Rebalances capabilities by keeping each assistant turn's loss with its capability's ratio, decided by
 * hash(seed, id, turn index).
 *
 * <p>The unit is the turn's loss, not the sample. A decomposed conversation holds reasoning, retrieval and
 * understanding turns together, so dropping whole samples cannot reach per-capability ratios without also
 * dropping the other capabilities; and deleting a turn's text would break the dialogue the later turns depend
 * on. Masking the loss keeps the context intact and removes exactly that capability's training signal, which is
 * what the paper's ratio controls. A conversation left with no loss turn goes on unchanged otherwise: the
 * tokenize stage rejects it ({@code no_loss_turn}), so it is counted and listed in {@code rejects/} with its file
 * and line like every other sample that is not emitted.
 */
public final class CapabilityBalancer implements Serializable {
    private static final long serialVersionUID = 1L;

    private final CapabilityBalancerConfig config;
    private final long seed;

    public CapabilityBalancer(CapabilityBalancerConfig config, long seed) {
        this.config = config;
        this.seed = seed;
    }

    public Dataset<Conversation> apply(Dataset<Conversation> conversations) {
        if (!config.enabled()) {
            return conversations;
        }
        CapabilityBalancer self = this;
        return conversations.map((MapFunction<Conversation, Conversation>) self::balance,
                Encoders.bean(Conversation.class));
    }

    Conversation balance(Conversation c) {
        if (!config.appliesTo(c.getSource())) {
            return c;
        }
        List<Turn> out = new ArrayList<>();
        List<Turn> turns = c.getTurns();
        for (int i = 0; i < turns.size(); i++) {
            Turn t = turns.get(i);
            boolean keep = !t.isLoss() || StableHash.uniform(seed, "balance", c.getSource(), c.getId(), i)
                    < config.ratio(t.getCapability());
            out.add(new Turn(t.getRole(), t.getContent(), t.isLoss() && keep, t.getCapability()));
        }
        return c.withTurns(out);
    }
}
