package org.agentflan.launch;

/**
 * A problem the user can fix (missing file, bad argument): printed as one line, exit code 2, its stack trace only with
 * {@code --verbose} ({@link ErrorLines}). The message says what failed, then after {@code "; "} what to do.
 */
public final class UserError extends RuntimeException {
    public UserError(String message) {
        super(message);
    }

    public UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
