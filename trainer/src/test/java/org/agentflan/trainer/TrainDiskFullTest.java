package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up during a checkpoint: a child JVM trains on a run folder on an 80 MB tmpfs (mounted in its own
 * user and mount namespace, {@code unshare -rm}, so no privileges are needed). A checkpoint of the tiny model is about
 * 52 MB, so the first fits and the second runs out of space. The save must fail naming the folder, remove what it
 * had written, and leave the first checkpoint intact and {@code latest} naming it; a restart on the same files resumes
 * from it. Skipped with a message where user namespaces are not allowed.
 */
class TrainDiskFullTest {
    @TempDir Path tmp;

    @Test
    void aFullDiskFailsTheSaveNamingTheFolderAndKeepsThePreviousCheckpoint() throws Exception {
        assumeTrue(canMountTmpfs(), "skipped: 'unshare -rm' cannot mount a tmpfs here (user namespaces not allowed)");
        Path data = TrainFixtures.dataDir(tmp);
        Path disk = Files.createDirectories(tmp.resolve("small-disk"));
        Path after = Files.createDirectories(tmp.resolve("after")); // the tmpfs dies with the child: its files are copied here
        Path log = tmp.resolve("child.log");
        List<String> cmd = new ArrayList<>(List.of("unshare", "-rm", "sh", "-c",
                "mount -t tmpfs -o size=80m none \"$1\" || exit 99; disk=\"$1\"; after=\"$2\"; shift 2; \"$@\";"
                        + " echo \"trainer exit $?\"; cp -a \"$disk/.\" \"$after/\"",
                "sh", disk.toString(), after.toString()));
        cmd.addAll(TrainChildMain.command(disk.resolve("run"), data, "max_steps=4", "checkpoint.every=1", "checkpoint.keep=5"));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(child.waitFor(3, TimeUnit.MINUTES), "child did not finish");
        String out = Files.readString(log);
        assertEquals(0, child.exitValue(), out);

        assertTrue(out.contains("trainer exit 1"), out);
        assertTrue(out.contains("cannot save checkpoint 2 in " + disk.resolve("run/checkpoints")
                + " (No space left on device); the previous checkpoint is intact"), out);
        Path checkpoints = after.resolve("run/checkpoints");
        assertEquals(CheckpointManager.dirName(1), Files.readString(checkpoints.resolve(CheckpointManager.LATEST)).trim());
        try (Stream<Path> entries = Files.list(checkpoints)) {
            assertEquals(List.of(CheckpointManager.LATEST, CheckpointManager.dirName(1)),
                    entries.map(p -> p.getFileName().toString()).sorted().toList(), "the failed save left nothing behind");
        }
        TrainCheckpoints.readIntact(checkpoints.resolve(CheckpointManager.dirName(1)));

        // With room again, the same run folder resumes from checkpoint 1 and finishes.
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Train.Result resumed = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=4",
                "checkpoint.every=1", "checkpoint.keep=5"), after.resolve("run"), null, null, null),
                new PrintStream(console, true));
        assertEquals(1, resumed.startStep(), console.toString());
        assertEquals(StopReason.COMPLETED, resumed.stopReason(), console.toString());
    }

    private static boolean canMountTmpfs() throws Exception {
        try {
            Process p = new ProcessBuilder("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt || mount -t"
                    + " tmpfs -o size=1m none /tmp").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false; // no unshare
        }
    }
}
