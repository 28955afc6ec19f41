package org.agentflan.format;

/** A prepared corpus that does not follow this format; the message names the file and the field. */
public final class FormatException extends RuntimeException {
    public FormatException(String message) {
        super(message);
    }

    public FormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
