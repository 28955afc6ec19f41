package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training with real ranks: two child JVMs ({@link TrainChildMain}) with torchrun's variables on
 * 127.0.0.1, summing gradients through Gloo. Against one in-process rank with the same global batch of 8 rows
 * (micro_batch 2 x grad_accum 4 x 1 rank, versus 2 x 2 x 2): the same per-step losses and final weights up to float
 * summation order; resuming 2 -> 1 and 1 -> 2 ranks at the exact next sample; a rank killed mid-step named by the
 * other, which exits, and the relaunch resumes; different configs refused; a signal to one rank stops both after the
 * same step with one checkpoint.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DataParallelTrainTest {
    /** Float summation order differs (two partial sums per step, then Gloo's sum): far below this, any real error far above. */
    private static final double TOLERANCE = 1e-5;
    private static final int STEPS = 6;
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    private static final String ONE_RANK_BATCH = "batch.grad_accum=4";
    private static final String TWO_RANK_BATCH = "batch.grad_accum=2";

    @TempDir Path tmp;
    private Path data;
    private Train.Result straight;

    @BeforeAll
    void oneRankReference(@TempDir Path shared) throws Exception {
        String reason = GlooCollectives.unavailableReason();
        assumeTrue(reason == null, () -> "skipped: " + reason);
        data = TrainFixtures.dataDir(shared);
        straight = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, ONE_RANK_BATCH, "max_steps=" + STEPS),
                shared.resolve("one-rank"), null, null, null), QUIET);
        assertEquals(StopReason.COMPLETED, straight.stopReason());
    }

    @Test
    void twoRanksTrainLikeOneRankWithTheSameGlobalBatch() throws Exception {
        Path run = tmp.resolve("two");
        RankJob job = RankJob.start(tmp, run, data, List.of(), List.of(), TWO_RANK_BATCH, "max_steps=" + STEPS);
        job.requireSuccess();
        assertTrue(job.log(0).contains("plan: 6 steps of 2 x 2 rows x 2 ranks"), job.log(0));
        sameCurves(run);
        assertSameWeights(straight.lastCheckpoint(), latest(run));
        assertSameProgress(straight.lastCheckpoint(), latest(run));
        assertEquals(2, TrainerState.read(latest(run)).worldSize());
        // Rank 0 alone wrote the run folder: one start record, one metrics line per step, one checkpoint per due step.
        List<String> starts = Files.readAllLines(run.resolve(RunRecord.FILE));
        assertEquals(1, starts.size(), String.join("\n", starts));
        assertTrue(starts.get(0).contains("\"world_size\":2"), starts.get(0));
        assertEquals(STEPS, MetricsLog.read(run.resolve("metrics.jsonl")).size());
        assertTrue(MetricsLog.read(run.resolve("metrics.jsonl")).get(0).get("comm_s").asDouble() > 0);
        assertFalse(job.log(1).contains("checkpoint: "), job.log(1));
    }

    @Test
    void resumingOnAnotherNumberOfRanksContinuesAtTheExactNextSample() throws Exception {
        // 2 ranks for 3 steps, then 1 rank (twice the grad_accum) to the end.
        Path twoThenOne = tmp.resolve("two-then-one");
        // --stop-at-step on rank 1 alone: the ranks agree on it like on a signal.
        RankJob.start(tmp, twoThenOne, data, List.of(), List.of("--stop-at-step", "3"), TWO_RANK_BATCH, "max_steps=" + STEPS)
                .requireSuccess();
        Train.Result rest = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, ONE_RANK_BATCH,
                "max_steps=" + STEPS), twoThenOne, null, null, null), QUIET);
        assertEquals(3, rest.startStep());
        assertEquals(StopReason.COMPLETED, rest.stopReason());
        sameCurves(twoThenOne);
        assertSameWeights(straight.lastCheckpoint(), rest.lastCheckpoint());
        assertSameProgress(straight.lastCheckpoint(), rest.lastCheckpoint());

        // 1 rank for 3 steps, then 2 ranks (half the grad_accum) to the end.
        Path oneThenTwo = tmp.resolve("one-then-two");
        Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, ONE_RANK_BATCH, "max_steps=" + STEPS),
                oneThenTwo, null, null, 3L), QUIET);
        RankJob job = RankJob.start(tmp, oneThenTwo, data, List.of(), List.of(), TWO_RANK_BATCH, "max_steps=" + STEPS);
        job.requireSuccess();
        assertTrue(job.log(1).contains("resuming from " + oneThenTwo.resolve("checkpoints/step_00000003")), job.log(1));
        sameCurves(oneThenTwo);
        assertSameWeights(straight.lastCheckpoint(), latest(oneThenTwo));
        assertSameProgress(straight.lastCheckpoint(), latest(oneThenTwo));

        // One rank with the two ranks' factors would halve the global batch: refused, naming it.
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, TWO_RANK_BATCH, "max_steps=" + STEPS), oneThenTwo, null, null, null), QUIET));
        assertTrue(e.getMessage().contains("global batch (batch.micro_batch x batch.grad_accum x ranks): 8 rows (2 x 2 x 2)"
                + " in the checkpoint, 4 rows (2 x 2 x 1) now"), e.getMessage());
    }

    @Test
    void aRankKilledMidStepIsNamedByTheOtherAndTheRelaunchResumes() throws Exception {
        Path run = tmp.resolve("killed");
        RankJob job = RankJob.start(tmp, run, data, List.of(), List.of("--pause-at", "step:3"), TWO_RANK_BATCH, "max_steps=" + STEPS);
        job.awaitLine(1, "PAUSED at step:3");
        long killedAt = System.nanoTime();
        job.ranks().get(1).destroyForcibly(); // SIGKILL inside step 3, while rank 0 waits for it in a collective
        assertTrue(job.ranks().get(0).waitFor(60, TimeUnit.SECONDS), "rank 0 hangs after rank 1's SIGKILL:\n" + job.log(0));
        double seconds = (System.nanoTime() - killedAt) / 1e9;
        String error = job.log(0).lines().filter(l -> l.startsWith("error: ")).findFirst().orElse("(none)\n" + job.log(0));
        System.out.printf("rank 1 killed; rank 0 exited %d after %.1f s: %s%n", job.ranks().get(0).exitValue(), seconds, error);
        assertEquals(2, job.ranks().get(0).exitValue(), job.log(0));
        assertTrue(error.contains("rank 0 stops after step 3") && error.contains("rank 1 is lost"), error);
        assertTrue(error.contains("resume from " + run.resolve("checkpoints/step_00000002")), error);

        RankJob relaunch = RankJob.start(tmp, run, data, List.of(), List.of(), TWO_RANK_BATCH, "max_steps=" + STEPS);
        relaunch.requireSuccess();
        assertTrue(relaunch.log(0).contains("resuming from " + run.resolve("checkpoints/step_00000002")), relaunch.log(0));
        assertTrue(relaunch.log(0).contains("child finished: completed at step 6"), relaunch.log(0));
        assertSameWeights(straight.lastCheckpoint(), latest(run));
    }

    @Test
    void ranksStartedWithDifferentConfigsRefuseToTrain() throws Exception {
        RankJob job = RankJob.start(tmp, tmp.resolve("mixed"), data, List.of(), List.of("optimizer.lr=1e-3"), TWO_RANK_BATCH,
                "max_steps=" + STEPS);
        for (int r = 0; r < 2; r++) {
            assertTrue(job.ranks().get(r).waitFor(2, TimeUnit.MINUTES), job.log(r));
            assertEquals(2, job.ranks().get(r).exitValue(), job.log(r));
            assertTrue(job.log(r).contains("error: ranks were started with different configs"), job.log(r));
        }
        assertFalse(Files.exists(tmp.resolve("mixed").resolve(RunRecord.FILE)), "nothing is recorded for a refused start");
    }

    /** SIGTERM to rank 1 alone, inside step 3: both ranks stop after step 3, and rank 0 writes its checkpoint. */
    @Test
    void aSignalToOneRankStopsEveryRankAfterTheSameStepWithOneCheckpoint() throws Exception {
        Path run = tmp.resolve("signal");
        RankJob job = RankJob.start(tmp, run, data, List.of(), List.of("--pause-at", "step:3"), TWO_RANK_BATCH, "max_steps=" + STEPS);
        job.awaitLine(1, "PAUSED at step:3");
        // With kill, not Process.destroy(): destroy() also closes the child's stdin, which would release the pause.
        assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(job.ranks().get(1).pid())).start().waitFor());
        job.awaitLine(1, "received SIGTERM");
        try (OutputStream in = job.ranks().get(1).getOutputStream()) {
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
        }
        job.requireExit();
        for (int r = 0; r < 2; r++) {
            assertTrue(job.log(r).contains("child finished: signal_term at step 3"), "rank " + r + ":\n" + job.log(r)
                    + "\nother rank:\n" + job.log(1 - r));
        }
        assertFalse(job.log(0).contains("received SIGTERM"), "rank 0 got no signal itself:\n" + job.log(0));
        assertEquals(run.resolve("checkpoints/step_00000003"), latest(run));
        assertEquals(3, TrainerState.read(latest(run)).step());
    }

    // ------------------------------------------------------------------ helpers

    static Path latest(Path run) throws Exception {
        return new CheckpointManager(run, 20, org.agentflan.trainer.checkpoint.SaveObserver.NONE).latestComplete().orElseThrow();
    }

    /** {@code key} ("loss", "grad_norm") of every train step in a run's metrics. */
    static Map<Long, Double> trainMetric(Path metrics, String key) throws Exception {
        Map<Long, Double> values = new LinkedHashMap<>();
        for (JsonNode line : MetricsLog.read(metrics)) {
            if (line.get("type").asText().equals("train")) {
                values.put(line.get("step").asLong(), line.get(key).asDouble());
            }
        }
        return values;
    }

    /**
     * Every step's loss and pre-clip gradient norm within {@link #TOLERANCE} relative of the one-rank run's. The norm
     * catches a wrongly scaled gradient (a loss divided by this rank's tokens instead of the global batch's), which
     * Adam's near scale-invariance would hide in the weights.
     */
    private void sameCurves(Path run) throws Exception {
        for (String key : List.of("loss", "grad_norm")) {
            assertCurvesClose(key, straight.metrics(), run.resolve("metrics.jsonl"), TOLERANCE);
        }
    }

    /** {@code key} of every train step of {@code actual} within {@code tolerance} relative of {@code expected}'s. */
    static void assertCurvesClose(String key, Path expected, Path actual, double tolerance) throws Exception {
        Map<Long, Double> a = trainMetric(expected, key);
        Map<Long, Double> b = trainMetric(actual, key);
        assertEquals(a.keySet(), b.keySet(), "steps");
        double worst = 0;
        for (Map.Entry<Long, Double> e : a.entrySet()) {
            worst = Math.max(worst, Math.abs(b.get(e.getKey()) - e.getValue()) / Math.abs(e.getValue()));
        }
        System.out.printf("%s of %s vs %s: worst relative difference %.3g%n", key, actual, expected, worst);
        assertTrue(worst <= tolerance, key + " per step: " + b + " vs " + a);
    }

    private static void assertSameWeights(Path expected, Path actual) throws Exception {
        assertWeightsClose(expected, actual, TOLERANCE);
    }

    /** Relative L2 distance of all weights of two checkpoints within {@code tolerance}. */
    static void assertWeightsClose(Path expected, Path actual, double tolerance) throws Exception {
        Map<String, float[]> a = weights(expected);
        Map<String, float[]> b = weights(actual);
        double diff = 0;
        double norm = 0;
        for (Map.Entry<String, float[]> p : a.entrySet()) {
            float[] x = p.getValue();
            float[] y = b.get(p.getKey());
            for (int i = 0; i < x.length; i++) {
                diff += (double) (x[i] - y[i]) * (x[i] - y[i]);
                norm += (double) x[i] * x[i];
            }
        }
        double relative = Math.sqrt(diff / norm);
        System.out.printf("weights of %s vs %s: relative L2 %.3g%n", actual, expected, relative);
        assertTrue(relative <= tolerance, "relative L2 distance " + relative);
    }

    /** The fp32 weights of a checkpoint's {@code model/} (save_dtype float32 here). */
    static Map<String, float[]> weights(Path checkpoint) throws Exception {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = HfCheckpoint.loadModel(checkpoint.resolve("model"), manager)) {
            Map<String, float[]> out = new LinkedHashMap<>();
            model.parameters().forEach((name, p) -> out.put(name, p.toFloatArray()));
            return out;
        }
    }

    /** The same data position and counts: the resumed run trained on exactly the straight run's samples. */
    private static void assertSameProgress(Path expected, Path actual) throws Exception {
        TrainerState a = TrainerState.read(expected);
        TrainerState b = TrainerState.read(actual);
        assertEquals(a.step(), b.step());
        assertEquals(a.cursor(), b.cursor());
        assertEquals(a.rowsSeen(), b.rowsSeen());
        assertEquals(a.tokensSeen(), b.tokensSeen());
        assertEquals(a.lossTokensSeen(), b.lossTokensSeen());
    }
}
