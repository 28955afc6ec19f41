package org.agentflan.dataprep.source;

import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.apache.spark.sql.Dataset;

/**
 * What reading one source gives: its conversations and its rejects, both from one parse of the input
 * (the parse is persisted; call {@link #unpersist()} once both have been consumed).
 */
public record ReadResult(Dataset<Conversation> conversations, Dataset<Reject> rejects, Runnable unpersistAction) {

    public void unpersist() {
        unpersistAction.run();
    }
}
