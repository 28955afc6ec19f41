package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainPolicyTest {
    @TempDir Path tmp;
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    /**
     * The loss is the mean over all loss tokens of the global batch, so 4 micro-batches of 1 row must give the same
     * update as 1 micro-batch of 4 rows. AdamW's eps is set to 1 so the first update is ~lr*g (linear in the
     * gradient) instead of ~lr*sign(g), which would hide a mis-scaled gradient; the two runs then differ only in fp32
     * summation order, far below the 1e-8 tolerance on weights of size ~0.02 (a 4x gradient error moves them ~1e-5).
     */
    @Test
    void fourMicroBatchesOfOneEqualOneOfFour() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Train.Result accumulated = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data,
                "batch.micro_batch=1", "batch.grad_accum=4", "max_steps=1", "optimizer.eps=1"), tmp.resolve("acc"), null, null, null), QUIET);
        Train.Result single = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data,
                "batch.micro_batch=4", "batch.grad_accum=1", "max_steps=1", "optimizer.eps=1"), tmp.resolve("one"), null, null, null), QUIET);
        assertEquals(single.losses().get(1L), accumulated.losses().get(1L), 1e-6);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel accumulatedModel = HfCheckpoint.loadModel(accumulated.lastCheckpoint().resolve("model"), manager);
             LlamaModel singleModel = HfCheckpoint.loadModel(single.lastCheckpoint().resolve("model"), manager)) {
            Map<String, NDArray> a = accumulatedModel.parameters();
            Map<String, NDArray> b = singleModel.parameters();
            double maxDiff = 0;
            for (String name : a.keySet()) {
                float[] x = a.get(name).toFloatArray();
                float[] y = b.get(name).toFloatArray();
                for (int i = 0; i < x.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
                }
            }
            assertTrue(maxDiff < 1e-8, "max weight difference " + maxDiff);
        }
        // Adam's first step is nearly sign(g), so the weights alone would hide a wrongly scaled gradient: the
        // pre-clip global gradient norm must agree too (a mean of micro-batch means would be off by ~4x).
        JsonNode accLine = MetricsLog.read(accumulated.metrics()).get(0);
        JsonNode oneLine = MetricsLog.read(single.metrics()).get(0);
        assertEquals(oneLine.get("loss_tokens").asLong(), accLine.get("loss_tokens").asLong());
        double gradNorm = oneLine.get("grad_norm").asDouble();
        assertEquals(gradNorm, accLine.get("grad_norm").asDouble(), 1e-5 * gradNorm);
    }

    @Test
    void nonFiniteStepsAreSkippedAndTooManyInARowStopTheRun() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // An absurd learning rate drives the weights to Inf after the first step, so later losses are not finite.
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "optimizer.lr=1e30",
                "schedule.kind=constant", "schedule.warmup_steps=0", "clip.max_norm=0", "nan.max_consecutive=2",
                "max_steps=10", "checkpoint.every=1"), tmp.resolve("nan"), null, null, null), new PrintStream(out, true));
        String log = out.toString();
        assertEquals(StopReason.NON_FINITE, r.stopReason(), log);
        assertTrue(log.contains("skipped (1 in a row, limit 2)"), log);
        assertTrue(r.endStep() < 10);
        List<JsonNode> lines = MetricsLog.read(r.metrics());
        assertTrue(lines.get(lines.size() - 1).get("skipped").asBoolean());
        // The last checkpoint predates the non-finite steps.
        assertTrue(org.agentflan.trainer.checkpoint.CheckpointManager.stepOf(r.lastCheckpoint()) < r.endStep());
    }

    @Test
    void resumingOntoOtherDataIsAnErrorThatSaysWhy() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=4"), tmp.resolve("run"), null, null, 2L), QUIET);
        // data.dirs is pinned by the checkpoint, so replace the content of that folder.
        try (var shards = java.nio.file.Files.list(data.resolve("shards"))) {
            for (Path p : shards.toList()) {
                java.nio.file.Files.delete(p);
            }
        }
        org.agentflan.trainer.data.ShardWriter.writeDataDir(data, org.agentflan.trainer.data.DataStreamTest.samples(50, 30, 77));
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=4"), tmp.resolve("run"), null, null, null), QUIET));
        assertTrue(e.getMessage().contains("is not the data") && e.getMessage().contains("--resume none"), e.getMessage());
    }

    /** A changed batch, learning rate or step count on resume is refused, every difference named, nothing trained. */
    @Test
    void resumeWithAChangedRunDefiningKeyIsRefusedListingEveryDifference() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path run = tmp.resolve("run");
        Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=4"), run, null, null, 2L), QUIET);
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=6", "optimizer.lr=0.5", "batch.micro_batch=3"), run, null, null, null), QUIET));
        for (String key : List.of("max_steps", "optimizer.lr", "batch.micro_batch", "--resume none")) {
            assertTrue(e.getMessage().contains(key), key + " missing: " + e.getMessage());
        }
        // Free keys (cadence, logging) may change; the run then continues and both starts are recorded.
        Train.Result resumed = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=4",
                "log.every=2", "checkpoint.keep=5"), run, null, null, null), QUIET);
        assertEquals(2, resumed.startStep());
        assertEquals(4, resumed.endStep());
        List<String> starts = java.nio.file.Files.readAllLines(run.resolve(RunRecord.FILE));
        assertEquals(2, starts.size(), String.join("\n", starts));
        JsonNode second = new com.fasterxml.jackson.databind.ObjectMapper().readTree(starts.get(1));
        assertEquals(2, second.get("start_step").asLong());
        assertTrue(second.get("resumed_from").asText().endsWith("step_00000002"), second.toString());
        assertEquals(2, second.at("/config/log/every").asLong());
        assertTrue(second.at("/versions/djl").asText().startsWith("0."), second.toString());
        assertTrue(second.at("/versions/pytorch").asText().startsWith("2."), second.toString());
    }

    /** A run folder in use stops a second run at start, naming the holder; a dead holder's lock is taken over. */
    @Test
    void oneRunPerRunFolder() throws Exception {
        Path run = java.nio.file.Files.createDirectories(tmp.resolve("locked"));
        try (RunLock held = RunLock.acquire(run, QUIET)) {
            TrainException e = assertThrows(TrainException.class, () -> RunLock.acquire(run, QUIET));
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid()) && e.getMessage().contains("--run-dir"),
                    e.getMessage());
            Path data = TrainFixtures.dataDir(tmp);
            TrainException t = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                    TrainFixtures.tinyRun(data, "max_steps=1"), run, null, null, null), QUIET));
            assertTrue(t.getMessage().contains("is in use by"), t.getMessage());
        }
        // A holder killed with -9 leaves its record behind but not its OS lock.
        java.nio.file.Files.writeString(run.resolve(RunLock.FILE), "{\"pid\":999999,\"host\":\"gone\",\"started\":\"x\"}");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (RunLock taken = RunLock.acquire(run, new PrintStream(out, true))) {
            assertTrue(out.toString().contains("taking over the stale lock of pid 999999 on host gone"), out.toString());
        }
    }

    /** eval.every without eval data used to skip every evaluation without a word; it is refused at start. */
    @Test
    void evalEveryWithoutEvalDataIsRefusedAtStart() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        org.agentflan.config.ConfigException none = assertThrows(org.agentflan.config.ConfigException.class,
                () -> TrainConfig.load(null, TrainFixtures.tinyRun(data, "eval.every=5")));
        assertTrue(none.getMessage().contains("eval.every is 5 but there is no eval data: set data.eval_dirs or"
                + " data.holdout_fraction, or eval.every=0"), none.getMessage());
        // 40 samples and a 0.1% holdout: the split keeps none out, which only the loaded data can tell.
        TrainException empty = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "eval.every=5", "data.holdout_fraction=0.001"), tmp.resolve("noeval"),
                null, null, null), QUIET));
        assertTrue(empty.getMessage().contains("eval.every is 5 but there are no eval samples (data.holdout_fraction"
                + " 0.001 kept none of the samples out)"), empty.getMessage());
    }
}
