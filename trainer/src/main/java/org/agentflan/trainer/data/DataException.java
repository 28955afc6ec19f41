package org.agentflan.trainer.data;

/** Training data that cannot be used; the message names the file, the row and the field. */
public final class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }
}
