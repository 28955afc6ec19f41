package org.agentflan.trainer.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint file or folder that is corrupt, truncated, or does not match the model it is loaded into. */
public class CheckpointFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointFormatException(String message) {
        super(message);
    }

    static CheckpointFormatException of(Path file, String problem) {
        return new CheckpointFormatException(file + ": " + problem);
    }

    static CheckpointFormatException of(Path file, String tensor, String problem) {
        return new CheckpointFormatException(file + ": tensor '" + tensor + "': " + problem);
    }
}
