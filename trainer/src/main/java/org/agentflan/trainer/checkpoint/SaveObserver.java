package org.agentflan.trainer.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Told where a checkpoint save has got to. The crash test installs one that stops the process at a chosen point, kills
 * it there and checks that the checkpoint is then complete or absent; a run that observes nothing passes {@link #NONE}.
 */
@FunctionalInterface
public interface SaveObserver {
    SaveObserver NONE = (point, path) -> { };

    enum Point {
        /** A file's bytes are written and forced to its temporary file; {@code path}, its final name, does not hold them yet. */
        FILE_FORCED,
        /** A file was renamed to {@code path} and its folder synced. */
        FILE_IN_PLACE,
        /** A checkpoint folder, marker included, was renamed to {@code path}; {@code latest} still names the previous one. */
        CHECKPOINT_IN_PLACE
    }

    void reached(Point point, Path path) throws IOException;
}
