package org.agentflan.trainer;

import static org.agentflan.trainer.TrainChildMain.awaitLine;
import static org.agentflan.trainer.TrainChildMain.release;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.metrics.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a child JVM running the training loop at chosen points -- between two files of a checkpoint, just
 * before a checkpoint folder's rename, between that rename and the update of {@code latest}, and inside a step --
 * one after another on the same run folder. The child stops at each point through {@link TrainChildMain}'s
 * {@code --pause-at} (the loop's {@code SaveObserver} and step hook), so every kill lands exactly there. After each
 * kill the folder must show the interrupted state and offer the previous checkpoint; each restart must resume from it;
 * and the final weights, optimizer state and loss history must equal an uninterrupted run's bit for bit.
 */
class TrainCrashTest {
    /** 6 steps, a checkpoint after each (so every child trains just two steps): each kill below interrupts another one. */
    private static final String[] RUN = {"max_steps=6", "checkpoint.every=1", "checkpoint.keep=2"};
    private static final String TEMP_PREFIX = TrainChildMain.Pause.TEMP_PREFIX;
    @TempDir Path tmp;

    @Test
    void killedInsideSavesAndStepsItStillEndsWithTheUninterruptedWeights() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Train.Result reference = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN),
                tmp.resolve("reference"), null, null, null), new PrintStream(OutputStream.nullOutputStream()));
        assertEquals(6, reference.endStep());
        Path run = tmp.resolve("crashed");
        CheckpointManager checkpoints = new CheckpointManager(run, 2, SaveObserver.NONE);

        // Between the 2nd and 3rd file of checkpoint 2: its temporary folder holds just those two files.
        String log = killAt(run, data, "file:2:2", null);
        assertEquals(List.of(temporaryFolder(2)), temporaryFolders(checkpoints), log);
        assertEquals(2, filesIn(checkpoints.root().resolve(temporaryFolder(2))), log);
        assertOffered(checkpoints, 1, log);

        // Just before checkpoint 3's rename: complete, marker included, but still in its temporary folder.
        log = killAt(run, data, "rename:3", 1L);
        assertEquals(List.of(temporaryFolder(3)), temporaryFolders(checkpoints), "checkpoint 2's leftover must be gone\n" + log);
        assertTrue(CheckpointManager.isComplete(checkpoints.root().resolve(temporaryFolder(3))), log);
        assertOffered(checkpoints, 2, log);

        // Between checkpoint 4's rename and the update of latest: step_4 is complete, latest still names step_3.
        log = killAt(run, data, "placed:4", 2L);
        assertEquals(List.of(), temporaryFolders(checkpoints), log);
        assertTrue(CheckpointManager.isComplete(checkpoints.root().resolve(CheckpointManager.dirName(4))), log);
        assertOffered(checkpoints, 3, log);

        // Inside step 5, after its update and before its metrics line: no save under way, checkpoint 4 is the newest.
        log = killAt(run, data, "step:5", 3L);
        assertTrue(log.contains("holds checkpoints past step 3"), "the restart must report step_4 beyond latest\n" + log);
        assertEquals(List.of(), temporaryFolders(checkpoints), log);
        assertOffered(checkpoints, 4, log);

        // A last restart, in this JVM, finishes the run.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result last = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN), run, null, null, null),
                new PrintStream(out, true));
        assertEquals(StopReason.COMPLETED, last.stopReason(), out.toString());
        assertEquals(4, last.startStep(), out.toString());
        assertEquals(List.of(), temporaryFolders(checkpoints));

        assertEquals(reference.lastCheckpoint().getFileName(), last.lastCheckpoint().getFileName());
        assertArrayEquals(Files.readAllBytes(reference.lastCheckpoint().resolve("model/model.safetensors")),
                Files.readAllBytes(last.lastCheckpoint().resolve("model/model.safetensors")), "final weights");
        assertArrayEquals(Files.readAllBytes(reference.lastCheckpoint().resolve("optimizer.safetensors")),
                Files.readAllBytes(last.lastCheckpoint().resolve("optimizer.safetensors")), "final optimizer state");
        // metrics.jsonl drops what a killed child wrote past the checkpoint its successor resumed from: one line per step.
        assertEquals(reference.losses(), trainLosses(last.metrics()), "loss history");
    }

    /**
     * SIGTERM arriving while the child is inside step 1: it finishes that step, saves checkpoint 1 (checkpoint.every=0
     * saves only after the last step, so the signal made it) and exits with the preempted status.
     */
    @Test
    void sigtermFinishesTheStepWritesACheckpointAndExits() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path run = tmp.resolve("term");
        Path log = tmp.resolve("term.log");
        Process child = TrainChildMain.start(run, data, log, "--pause-at", "step:1", "max_steps=6", "checkpoint.every=0");
        awaitLine(child, log, "PAUSED at step:1");
        // SIGTERM alone: Process.destroy() would also close the child's stdin, which releases the pause before the
        // JVM has handled the signal.
        child.toHandle().destroy();
        awaitLine(child, log, "received SIGTERM");
        release(child);
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "trainer did not exit after SIGTERM");
        String out = Files.readString(log);
        assertEquals(StopReason.EXIT_PREEMPTED, child.exitValue(), out);
        assertTrue(out.contains("child finished: signal_term at step 1"), out);
        Path last = new CheckpointManager(run, 2, SaveObserver.NONE).latestComplete().orElseThrow();
        assertEquals(CheckpointManager.dirName(1), last.getFileName().toString(), out);
    }

    /**
     * Starts a child on {@code run}, checks where it resumed from, waits until it pauses at {@code event} and kills it
     * with SIGKILL there; returns its log.
     */
    private String killAt(Path run, Path data, String event, Long resumedFrom) throws Exception {
        Path logFile = tmp.resolve("child-" + event.replace(':', '-') + ".log");
        List<String> args = new ArrayList<>(List.of("--pause-at", event));
        args.addAll(List.of(RUN));
        Process child = TrainChildMain.start(run, data, logFile, args.toArray(String[]::new));
        awaitLine(child, logFile, "PAUSED at " + event);
        child.destroyForcibly(); // SIGKILL
        child.waitFor();
        String log = Files.readString(logFile);
        assertResumedFrom(log, resumedFrom);
        return log;
    }

    /** After a kill: {@code latest} names checkpoint {@code step}, and that is the one a restart resumes from. */
    private static void assertOffered(CheckpointManager checkpoints, long step, String log) throws Exception {
        assertEquals(CheckpointManager.dirName(step),
                Files.readString(checkpoints.root().resolve(CheckpointManager.LATEST)).trim(), log);
        assertEquals(Optional.of(checkpoints.root().resolve(CheckpointManager.dirName(step))), checkpoints.latestComplete(), log);
    }

    private static void assertResumedFrom(String log, Long step) {
        if (step == null) {
            assertFalse(log.contains("resuming from"), "a fresh start expected\n" + log);
        } else {
            assertTrue(log.contains("resuming from ") && log.contains(CheckpointManager.dirName(step) + " (step " + step + ")"),
                    "resume from step " + step + " expected\n" + log);
        }
    }

    private static String temporaryFolder(long step) {
        return TEMP_PREFIX + CheckpointManager.dirName(step);
    }

    private static List<String> temporaryFolders(CheckpointManager checkpoints) throws Exception {
        try (Stream<Path> entries = Files.list(checkpoints.root())) {
            return entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(TEMP_PREFIX)).sorted().toList();
        }
    }

    private static long filesIn(Path dir) throws Exception {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).count();
        }
    }

    /** Step to loss of the train lines of a metrics file; NaN for a skipped step, as {@link Train.Result#losses()} has it. */
    private static Map<Long, Double> trainLosses(Path metrics) throws Exception {
        Map<Long, Double> losses = new LinkedHashMap<>();
        for (JsonNode line : MetricsLog.read(metrics)) {
            if (line.get("type").asText().equals("train")) {
                Double previous = losses.put(line.get("step").asLong(),
                        line.get("skipped").asBoolean() ? Double.NaN : line.get("loss").asDouble());
                if (previous != null) {
                    fail("step " + line.get("step") + " appears twice in " + metrics);
                }
            }
        }
        return losses;
    }
}
