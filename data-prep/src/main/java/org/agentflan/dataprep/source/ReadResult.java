package org.agentflan.dataprep.source;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;

import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What reading one source gives: its conversations and its rejects. Both are lazy views of one parse of the
 * input ({@code outcomes}); each action re-reads it (see {@link ConversationReader#read}), so cache them if you
 * use them often, and use {@link #counts()} to count both in one pass.
 */
public record ReadResult(Dataset<Conversation> conversations, Dataset<Reject> rejects,
                         Dataset<ConversationReader.ReadOutcome> outcomes) {

    /** How many conversations and rejects the source gave. */
    public record Counts(long conversations, long rejects) {}

    /** Both counts from a single parse of the input (two separate {@code count()}s would parse it twice). */
    public Counts counts() {
        Row row = outcomes.agg(count(col("conversation")), count(col("reject"))).first();
        return new Counts(row.getLong(0), row.getLong(1));
    }

    /** Releases any caching the caller applied to any of the datasets (harmless when none was). */
    public void unpersist() {
        conversations.unpersist();
        rejects.unpersist();
        outcomes.unpersist();
    }
}
