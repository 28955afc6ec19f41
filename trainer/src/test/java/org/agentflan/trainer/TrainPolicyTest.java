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
import org.agentflan.trainer.model.LlamaConfig;
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
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaConfig arch = LlamaConfig.tiny();
            Map<String, NDArray> a = HfCheckpoint.read(accumulated.lastCheckpoint().resolve("model"), arch, manager);
            Map<String, NDArray> b = HfCheckpoint.read(single.lastCheckpoint().resolve("model"), arch, manager);
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
        assertEquals("non_finite", r.stopReason(), log);
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
        Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=2"), tmp.resolve("run"), null, null, null), QUIET);
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
}
