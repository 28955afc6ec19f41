package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files name themselves, and a damaged newest checkpoint costs only the steps since the previous one. One run
 * of 8 planned steps stops after step 6 with checkpoints 2, 4 and 6 (model/ in shards, so it has an index); each test
 * copies it, damages the copy the way a disk or a user does (cuts a file short, overwrites bytes, writes garbage), and
 * runs {@code train} on it again.
 */
class TrainDamagedFilesTest {
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    /** 4 MB shards: the tiny model's 17 MB of fp32 weights go into several files and an index. */
    private static final String[] RUN = {"max_steps=8", "checkpoint.every=2", "checkpoint.max_shard_bytes=4000000"};
    @TempDir static Path shared;
    static Path data;
    static Path base;
    @TempDir Path tmp;

    @BeforeAll
    static void trainSixOfEightSteps() throws Exception {
        data = TrainFixtures.dataDir(shared);
        base = shared.resolve("base");
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN), base, null, null, 6L), QUIET);
        assertEquals(StopReason.STOP_AT_STEP, r.stopReason());
        assertTrue(Files.isRegularFile(checkpoint(base, 6).resolve("model/" + HfCheckpoint.INDEX_FILE)));
    }

    /**
     * The newest checkpoint's model shard cut in half: the run says which file is damaged and how, falls back to step
     * 4, and still ends with exactly the weights of an uninterrupted 8-step run.
     */
    @Test
    void aTruncatedWeightShardFallsBackToThePreviousCheckpointAndStaysExact() throws Exception {
        Path run = copyOfBase("truncated");
        Path shard = firstShard(checkpoint(run, 6).resolve("model"));
        truncate(shard, Files.size(shard) / 2);
        Run resumed = train(run, null, null);
        assertFallback(resumed.log, run, shard);
        assertEquals(4, resumed.result.startStep(), resumed.log);
        assertEquals(StopReason.COMPLETED, resumed.result.stopReason(), resumed.log);

        Train.Result straight = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN), tmp.resolve("straight"),
                null, null, null), QUIET);
        for (String file : List.of("optimizer.safetensors", "model/" + shard.getFileName())) {
            assertArrayEquals(Files.readAllBytes(straight.lastCheckpoint().resolve(file)),
                    Files.readAllBytes(resumed.result.lastCheckpoint().resolve(file)), file);
        }
    }

    @Test
    void overwrittenBytesInTheOptimizerStateFallBack() throws Exception {
        Path run = copyOfBase("flipped");
        Path optimizer = checkpoint(run, 6).resolve(OptimizerState.TENSORS);
        flip(optimizer, 8, 32); // inside the JSON header
        assertFallback(train(run, null, 5L).log, run, optimizer);
    }

    @Test
    void garbageInTheWeightIndexFallsBack() throws Exception {
        Path run = copyOfBase("index");
        Path index = checkpoint(run, 6).resolve("model/" + HfCheckpoint.INDEX_FILE);
        Files.write(index, new byte[] {(byte) 0xff, 0x00, 0x13, '{', '"'});
        assertFallback(train(run, null, 5L).log, run, index);
    }

    @Test
    void aTruncatedTrainerStateFallsBack() throws Exception {
        Path run = copyOfBase("state");
        Path state = checkpoint(run, 6).resolve(TrainerState.FILE);
        truncate(state, 100);
        assertFallback(train(run, null, 5L).log, run, state);
    }

    /** Garbage in latest: said so, and the newest complete checkpoint (intact here) is used. */
    @Test
    void garbageInLatestResumesFromTheNewestIntactCheckpoint() throws Exception {
        Path run = copyOfBase("latest");
        Path latest = run.resolve("checkpoints").resolve(CheckpointManager.LATEST);
        Files.write(latest, new byte[] {'s', 't', 0x01, (byte) 0xc3, '\n', 'x'});
        Run resumed = train(run, null, 7L);
        assertTrue(resumed.log.contains("warning: " + latest + " holds 'st??" + "\n".replace("\n", "?") + "x' instead of"
                + " a checkpoint folder name (step_NNNNNNNN): damaged; resuming from the newest complete checkpoint that"
                + " is intact instead"), resumed.log);
        assertEquals(6, resumed.result.startStep(), resumed.log);
        assertEquals(CheckpointManager.dirName(7) + "\n", Files.readString(latest), "latest is rewritten by the next save");
    }

    /** --resume naming a damaged checkpoint is refused naming it; nothing falls back behind the user's back. */
    @Test
    void anExplicitResumeOfADamagedCheckpointFailsNamingIt() throws Exception {
        Path run = copyOfBase("explicit");
        Path shard = firstShard(checkpoint(run, 6).resolve("model"));
        truncate(shard, 1000);
        TrainException e = assertThrows(TrainException.class, () -> train(run, checkpoint(run, 6).toString(), null));
        assertTrue(e.getMessage().startsWith("--resume " + checkpoint(run, 6) + ": the checkpoint is damaged: " + shard + ": "),
                e.getMessage());
        assertOneLine(e.getMessage());
    }

    /** Every checkpoint damaged: an error listing each, not a silent fresh start over them. */
    @Test
    void noIntactCheckpointIsAnErrorNotAFreshStart() throws Exception {
        Path run = copyOfBase("all");
        for (long step : new long[] {2, 4, 6}) {
            Files.writeString(checkpoint(run, step).resolve(TrainerState.FILE), "{\"step\": ");
        }
        TrainException e = assertThrows(TrainException.class, () -> train(run, null, null));
        assertTrue(e.getMessage().startsWith("no checkpoint in " + run.resolve("checkpoints") + " is intact ("), e.getMessage());
        for (long step : new long[] {2, 4, 6}) {
            assertTrue(e.getMessage().contains(checkpoint(run, step).resolve(TrainerState.FILE) + ": not a trainer state"),
                    e.getMessage());
        }
        assertTrue(e.getMessage().endsWith("or start over with --resume none"), e.getMessage());
        assertOneLine(e.getMessage());
    }

    /** Paths that cannot hold a run fail at start in one line naming the path. */
    @Test
    void aRunFolderThatCannotHoldARunIsOneLineNamingThePath() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        assertEquals("run_dir " + file + " is a file, not a folder; pick another --run-dir", refusal(file));
        assertEquals("cannot create run_dir " + file.resolve("run") + ": " + file + " is a file, not a folder",
                refusal(file.resolve("run")));

        Path run = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(run.resolve("checkpoints"), "x");
        assertEquals(run.resolve("checkpoints") + " is a file, but the run keeps a folder there; move it away", refusal(run));
        Files.delete(run.resolve("checkpoints"));
        Files.createDirectories(run.resolve("metrics.jsonl"));
        assertEquals(run.resolve("metrics.jsonl") + " is a folder, but the run writes a file there; move it away",
                refusal(run));
    }

    private String refusal(Path runDir) {
        return assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1"), runDir, null, null, null), QUIET)).getMessage();
    }

    /** The run names the damaged file in one line and falls back to step 4. */
    private static void assertFallback(String log, Path run, Path damaged) {
        String warning = log.lines().filter(l -> l.startsWith("warning: checkpoint ")).findFirst().orElse("(none)");
        assertTrue(warning.startsWith("warning: checkpoint " + checkpoint(run, 6) + " is damaged, not resuming from it: "
                + damaged + ": "), log);
        assertTrue(log.contains("falling back to " + checkpoint(run, 4) + ", the newest complete checkpoint that is intact"), log);
        assertTrue(log.contains("resuming from " + checkpoint(run, 4) + " (step 4)"), log);
    }

    private record Run(Train.Result result, String log) {}

    private static Run train(Path run, String resume, Long stopAtStep) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN), run, null, resume, stopAtStep),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return new Run(r, out.toString(StandardCharsets.UTF_8));
    }

    private Path copyOfBase(String name) throws IOException {
        Path copy = tmp.resolve(name);
        try (Stream<Path> walk = Files.walk(base)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(base.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return copy;
    }

    private static Path checkpoint(Path run, long step) {
        return run.resolve("checkpoints").resolve(CheckpointManager.dirName(step));
    }

    private static Path firstShard(Path model) throws IOException {
        try (Stream<Path> files = Files.list(model)) {
            return files.filter(p -> p.getFileName().toString().matches("model-00001-of-\\d+\\.safetensors")).findFirst()
                    .orElseThrow();
        }
    }

    private static void truncate(Path file, long bytes) throws IOException {
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), (int) bytes));
    }

    private static void flip(Path file, int from, int count) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        for (int i = from; i < from + count; i++) {
            bytes[i] ^= (byte) 0x5a;
        }
        Files.write(file, bytes);
    }

    private static void assertOneLine(String message) {
        assertFalse(message.contains("\n") || message.contains("\r"), message);
    }
}
