package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointManagerTest {
    @TempDir Path run;

    private static CheckpointManager.Content payload(String text) {
        return (dir, files) -> files.writeBytes(dir.resolve("payload.txt"), text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void keepsTheNewestKCompleteCheckpointsAndPointsLatestAtTheNewest() throws Exception {
        CheckpointManager manager = new CheckpointManager(run, 2, SaveObserver.NONE);
        for (long step = 10; step <= 50; step += 10) {
            Path dir = manager.save(step, payload("s" + step));
            assertTrue(CheckpointManager.isComplete(dir));
        }
        List<Path> kept = manager.completeCheckpoints();
        assertEquals(List.of("step_00000040", "step_00000050"), kept.stream().map(p -> p.getFileName().toString()).toList());
        assertEquals("step_00000050", Files.readString(run.resolve("checkpoints/latest")).trim());
        assertEquals(Optional.of(run.resolve("checkpoints/step_00000050")), manager.latestComplete());
        assertEquals("s50", Files.readString(manager.latestComplete().get().resolve("payload.txt")));
    }

    @Test
    void aCheckpointWithoutItsMarkerDoesNotExistAndLatestFallsBackToTheNewestComplete() throws Exception {
        CheckpointManager manager = new CheckpointManager(run, 5, SaveObserver.NONE);
        manager.save(1, payload("one"));
        manager.save(2, payload("two"));
        // A crash after the rename-free part of a save: content written, no marker.
        Path broken = run.resolve("checkpoints/step_00000003");
        Files.createDirectories(broken);
        Files.writeString(broken.resolve("payload.txt"), "half");
        Files.writeString(run.resolve("checkpoints/latest"), "step_00000003\n");
        Path temp = run.resolve("checkpoints/.tmp-step_00000004");
        Files.createDirectories(temp);
        // A crash while writing latest itself leaves its temporary file next to it.
        Path latestTemp = run.resolve("checkpoints/.latest.tmp-123-456");
        Files.writeString(latestTemp, "step_00000004\n");
        assertEquals(Optional.of(run.resolve("checkpoints/step_00000002")), manager.latestComplete());
        manager.removeIncomplete();
        assertFalse(Files.exists(broken));
        assertFalse(Files.exists(temp));
        assertFalse(Files.exists(latestTemp));
        // Re-saving a step that already exists (resumed from an older checkpoint) replaces it.
        manager.save(2, payload("two again"));
        assertEquals("two again", Files.readString(run.resolve("checkpoints/step_00000002/payload.txt")));
    }

    @Test
    void resumingFromAnOlderCheckpointNeverPrunesTheOneJustWritten() throws Exception {
        CheckpointManager manager = new CheckpointManager(run, 2, SaveObserver.NONE);
        for (long step = 10; step <= 30; step += 10) {
            manager.save(step, payload("first run " + step));
        }
        // A second run resumed from step 20 (say the user chose it) and checkpoints step 25.
        Path fresh = manager.save(25, payload("second run 25"));
        assertTrue(Files.exists(fresh), "the newest checkpoint of this run must survive pruning");
        assertEquals(Optional.of(fresh), manager.latestComplete());
        assertEquals(List.of("step_00000020", "step_00000025", "step_00000030"),
                manager.completeCheckpoints().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void aFailedContentWriteLeavesNoVisibleCheckpoint() throws Exception {
        CheckpointManager manager = new CheckpointManager(run, 5, SaveObserver.NONE);
        manager.save(1, payload("one"));
        try {
            manager.save(2, (dir, files) -> {
                Files.writeString(dir.resolve("payload.txt"), "partial");
                throw new java.io.IOException("disk full");
            });
        } catch (java.io.IOException expected) {
            assertEquals("disk full", expected.getMessage());
        }
        assertEquals(Optional.of(run.resolve("checkpoints/step_00000001")), manager.latestComplete());
        assertFalse(Files.exists(run.resolve("checkpoints/step_00000002")));
        assertFalse(Files.exists(run.resolve("checkpoints/.tmp-step_00000002")), "the failed save's folder is removed");
    }

    @Test
    void theObserverSeesEveryFileInTheTemporaryFolderThenTheRenameThenLatest() throws Exception {
        List<String> seen = new ArrayList<>();
        Path root = run.resolve("checkpoints");
        CheckpointManager manager = new CheckpointManager(run, 5, (point, path) -> {
            String where = root.relativize(path).toString();
            String latest = Files.exists(root.resolve(CheckpointManager.LATEST))
                    ? Files.readString(root.resolve(CheckpointManager.LATEST)).trim() : "none";
            seen.add(point + " " + where + " (latest " + latest + ")");
        });
        manager.save(1, (dir, files) -> {
            files.writeBytes(dir.resolve("model/weights.bin"), new byte[] {1});
            files.writeBytes(dir.resolve("optimizer.bin"), new byte[] {2});
        });
        assertEquals(List.of(
                "FILE_FORCED .tmp-step_00000001/model/weights.bin (latest none)",
                "FILE_IN_PLACE .tmp-step_00000001/model/weights.bin (latest none)",
                "FILE_FORCED .tmp-step_00000001/optimizer.bin (latest none)",
                "FILE_IN_PLACE .tmp-step_00000001/optimizer.bin (latest none)",
                "FILE_FORCED .tmp-step_00000001/COMPLETE (latest none)",
                "FILE_IN_PLACE .tmp-step_00000001/COMPLETE (latest none)",
                "CHECKPOINT_IN_PLACE step_00000001 (latest none)",
                "FILE_FORCED latest (latest none)",
                "FILE_IN_PLACE latest (latest step_00000001)"), seen);
    }
}
