package org.agentflan.dataprep.source;

import org.agentflan.dataprep.model.RejectKind;

/** A record that cannot become a conversation: its kind, and a message (the reject reason) naming the field. */
final class BadRecordException extends Exception {
    private static final long serialVersionUID = 1L;
    private final RejectKind kind;

    BadRecordException(RejectKind kind, String reason) {
        super(reason, null, false, false);
        this.kind = kind;
    }

    RejectKind kind() {
        return kind;
    }
}
