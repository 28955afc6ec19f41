package org.agentflan.dataprep.source;

/** A record that cannot become a conversation; the message is the reject reason and names the field. */
final class BadRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    BadRecordException(String reason) {
        super(reason, null, false, false);
    }
}
