package org.agentflan.dataprep.source;

import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.RejectKind;

/**
 * Where a parser puts what it makes of one raw record: conversations, and rejects for parts it could not use,
 * each at its locator (see Reject#line: the record's own, or e.g. one ToolBench train_messages entry).
 */
interface RecordSink {
    void accept(long line, Conversation conversation);

    void reject(long line, RejectKind kind, String reason);
}
