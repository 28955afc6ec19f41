package org.agentflan.trainer;

/** A problem with the run the user can fix (bad resume target, changed data, impossible settings); one clear line. */
public final class TrainException extends RuntimeException {
    public TrainException(String message) {
        super(message);
    }
}
