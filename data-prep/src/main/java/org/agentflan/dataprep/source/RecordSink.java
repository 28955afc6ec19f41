package org.agentflan.dataprep.source;

import org.agentflan.dataprep.model.Conversation;

/** Where a parser puts what it makes of one raw record: conversations, and rejects for parts it could not use. */
interface RecordSink {
    void accept(Conversation conversation);

    /** A reject for part of the record (e.g. one ToolBench train_messages entry), at the given locator. */
    void reject(long line, String reason);
}
