package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.trainer.checkpoint.CheckpointFormatException;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Non-finite is a failure: never checkpointed, and a run that cannot get past it stops naming the step. */
class TrainNonFiniteTest {
    private static final String WEIGHT = "model.norm.weight";
    @TempDir Path tmp;

    /**
     * lr 1e38 makes AdamW's first step size (lr / (1 - beta1)) overflow to Inf: step 1's loss and gradient are finite,
     * but the update leaves NaN and Inf weights. The run stops at step 1, names a weight, and writes no checkpoint.
     */
    @Test
    void anUpdateThatOverflowsTheWeightsStopsTheRunWithoutACheckpoint() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "optimizer.lr=1e38",
                "schedule.kind=constant", "schedule.warmup_steps=0", "max_steps=5", "checkpoint.every=1"),
                tmp.resolve("run"), null, null, null), new PrintStream(out, true));
        String log = out.toString();
        assertEquals(StopReason.NON_FINITE, r.stopReason(), log);
        assertEquals(1, r.endStep(), log);
        assertNull(r.lastCheckpoint(), log);
        assertTrue(log.contains("error: step 1 left weight '") && log.contains("' non-finite (NaN or Inf) although its loss"
                + " and gradient were finite") && log.contains("stops at step 1 without checkpointing it"), log);
        assertTrue(new CheckpointManager(r.runDir(), 2, SaveObserver.NONE).completeCheckpoints().isEmpty(), log);
        JsonNode line = MetricsLog.read(r.metrics()).get(0);
        assertFalse(line.get("non_finite_weight").isNull(), line.toString());
        assertTrue(Double.isFinite(line.get("loss").asDouble()), line.toString());
    }

    /**
     * A transient fault: after step 2 a weight turns NaN, so step 3's loss is NaN and the step is skipped; after step 3
     * the weight is restored. With checkpoint.every=3 the checkpoint due at step 3 must not be written (its step was not
     * finite) but follow at step 4, the next finite step; every checkpoint written loads with finite weights.
     */
    @Test
    void aCheckpointDueAtASkippedStepFollowsTheNextFiniteStep() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        NanFault fault = new NanFault(2, 3);
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=6", "checkpoint.every=3"),
                tmp.resolve("run"), null, null, null), new PrintStream(out, true), fault, SaveObserver.NONE);
        String log = out.toString();
        assertEquals(StopReason.COMPLETED, r.stopReason(), log);
        assertTrue(Double.isNaN(r.losses().get(3L)) && Double.isFinite(r.losses().get(4L)), r.losses().toString());
        assertTrue(log.contains("step 3 was not finite, so it is not checkpointed; the checkpoint follows the next finite"
                + " step"), log);
        CheckpointManager checkpoints = new CheckpointManager(r.runDir(), 20, SaveObserver.NONE);
        assertEquals(List.of(CheckpointManager.dirName(4), CheckpointManager.dirName(6)),
                checkpoints.completeCheckpoints().stream().map(p -> p.getFileName().toString()).toList(), log);
        try (NDManager manager = NDManager.newBaseManager()) {
            for (Path checkpoint : checkpoints.completeCheckpoints()) {
                HfCheckpoint.loadModel(checkpoint.resolve("model"), manager).close();
            }
        }
    }

    /**
     * A NaN put in after step 3 stays: every later step is skipped, and after nan.max_consecutive of them the run stops
     * naming the steps. The checkpoint due at step 4 is not written, so step 2's is the newest. A model folder holding
     * the NaN weight is refused on load, naming the file and the tensor.
     */
    @Test
    void tooManySkippedStepsInARowStopTheRunNamingTheSteps() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=8", "checkpoint.every=2",
                "nan.max_consecutive=2"), tmp.resolve("run"), null, null, null), new PrintStream(out, true),
                new NanFault(3, Long.MAX_VALUE), SaveObserver.NONE);
        String log = out.toString();
        assertEquals(StopReason.NON_FINITE, r.stopReason(), log);
        assertEquals(5, r.endStep(), log);
        assertTrue(log.contains("error: steps 4 to 5 had a non-finite loss or gradient (2 in a row, nan.max_consecutive 2);"
                + " stopping at step 5. The last good checkpoint is " + r.lastCheckpoint()), log);
        assertEquals(CheckpointManager.dirName(2), r.lastCheckpoint().getFileName().toString(), log);

        // The checkpoint of step 2 loads; the same folder with the NaN weight written into it does not.
        Path model = r.lastCheckpoint().resolve("model");
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel loaded = HfCheckpoint.loadModel(model, manager)) {
            loaded.parameters().get(WEIGHT).set(new NDIndex(0), Float.NaN);
            HfCheckpoint.write(org.agentflan.trainer.checkpoint.AtomicFileWriter.UNOBSERVED, tmp.resolve("nan-model"),
                    loaded.config(), loaded.parameters(), Long.MAX_VALUE, ai.djl.ndarray.types.DataType.FLOAT32, null);
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> HfCheckpoint.loadModel(tmp.resolve("nan-model"), manager));
            assertEquals(tmp.resolve("nan-model/model.safetensors") + ": tensor '" + WEIGHT + "': holds NaN or Inf values"
                    + " (the weights of a diverged run, or a damaged file)", e.getMessage());
        }
    }

    /** Puts a NaN into one weight after step {@code from} and restores the weight after step {@code until}. */
    private static final class NanFault implements Train.StepHook {
        private final long from;
        private final long until;
        private FloatBuffer saved;

        NanFault(long from, long until) {
            this.from = from;
            this.until = until;
        }

        @Override
        public void afterStep(long step, LlamaModel model) {
            NDArray weight = model.parameters().get(WEIGHT);
            if (step == from) {
                saved = FloatBuffer.wrap(weight.toFloatArray());
                weight.set(new NDIndex(0), Float.NaN);
            } else if (step == until) {
                weight.set(saved);
            }
        }
    }
}
