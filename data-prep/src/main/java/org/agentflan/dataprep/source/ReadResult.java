package org.agentflan.dataprep.source;

import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.apache.spark.sql.Dataset;

/**
 * What reading one source gives: its conversations and its rejects. Both are lazy views of one parse of the
 * input; each action re-reads it (see {@link ConversationReader#read}), so cache them if you use them often.
 */
public record ReadResult(Dataset<Conversation> conversations, Dataset<Reject> rejects) {

    /** Releases any caching the caller applied to either dataset (harmless when none was). */
    public void unpersist() {
        conversations.unpersist();
        rejects.unpersist();
    }
}
