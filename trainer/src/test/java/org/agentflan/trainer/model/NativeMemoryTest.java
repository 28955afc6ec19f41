package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * 100 forward+backward steps must leave the number of live native arrays unchanged: every activation, mask,
 * weight cast and loss temporary belongs to the step's manager and dies with it. Counted with DJL's own
 * bookkeeping ({@code NDManager.getManagedArrays()} walks the manager tree).
 */
class NativeMemoryTest {
    private static final int STEPS = 100;
    private static final LlamaConfig CONFIG =
            new LlamaConfig(128, 32, 64, 2, 4, 2, 1e-5, 10000.0, 64, false, 1, 2, null, null, null, null);

    @Test
    void hundredTrainingStepsKeepLiveArraysFlat() {
        List<Integer> counts = runSteps(STEPS, DataType.FLOAT32, model -> { });
        assertFlat(counts);
    }

    @Test
    void halfPrecisionStepsKeepLiveArraysFlat() {
        // fp16 compute adds per-step weight casts and dtype round trips: they too must die with the step.
        assertFlat(runSteps(30, DataType.FLOAT16, model -> { }));
    }

    @Test
    void theCheckCatchesADeliberatelyLeakedArray() {
        // getGradient() hands out a new handle owned by the weight's manager; forgetting to close it leaks one per step.
        List<Integer> counts = runSteps(10, DataType.FLOAT32, model -> model.parameters().get("model.norm.weight").getGradient());
        AssertionError error = assertThrows(AssertionError.class, () -> assertFlat(counts));
        assertTrue(error.getMessage().contains("grew"), error.getMessage());
    }

    @Test
    void zeroGradientsClearsANonFiniteGradient() {
        // The trainer skips a step whose gradient is NaN; zeroing must not leave that NaN behind for the next step.
        try (NDManager root = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, root, 5)) {
            model.setTrainable(true);
            NDArray weight = model.parameters().get("model.norm.weight");
            try (NDManager step = root.newSubManager();
                 GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                // A gradient exists only after a backward pass; make one, then poison it.
                collector.backward(weight.mul(step.create(1f)).sum());
            }
            try (NDArray grad = weight.getGradient()) {
                grad.addi(Float.NaN);
            }
            try (NDArray grad = weight.getGradient()) {
                assertTrue(Float.isNaN(grad.sum().getFloat()), "the gradient handle should alias the weight's gradient");
            }
            model.zeroGradients();
            try (NDArray grad = weight.getGradient()) {
                assertEquals(0f, grad.abs().sum().getFloat(), "zeroGradients left a NaN gradient");
            }
        }
    }

    /** Live arrays after each step, from the first step on (step 1 creates the model's lazy constants). */
    private static List<Integer> runSteps(int steps, DataType computeType, Consumer<LlamaModel> extraWork) {
        List<Integer> counts = new ArrayList<>();
        try (NDManager root = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, root, 5)) {
            model.setTrainable(true);
            int b = 2;
            int t = 16;
            for (int step = 0; step < steps; step++) {
                try (NDManager batch = root.newSubManager()) {
                    NDArray ids = batch.randomInteger(0, CONFIG.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray targets = batch.randomInteger(0, CONFIG.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray positions = batch.arange(0, t, 1, DataType.INT64).reshape(1, t).repeat(0, b);
                    NDArray segments = batch.ones(new Shape(b, t), DataType.INT32);
                    NDArray mask = batch.randomInteger(0, 2, new Shape(b, t), DataType.INT32);
                    NDArray tokens = mask.sum().toType(DataType.FLOAT32, false);
                    float loss;
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray hidden = model.forward(ids, positions, segments, computeType);
                        NDArray mean = MaskedCrossEntropy.sum(model, hidden, targets, mask, 8).div(tokens);
                        loss = mean.getFloat();
                        collector.backward(mean);
                    }
                    assertTrue(Float.isFinite(loss), "loss at step " + step + " is " + loss);
                    extraWork.accept(model);
                }
                model.zeroGradients();
                counts.add(root.getManagedArrays().size());
            }
            try (NDArray grad = model.parameters().get("lm_head.weight").getGradient()) {
                assertEquals(0f, grad.abs().sum().getFloat(), "zeroGradients left a non-zero gradient");
            }
        }
        return counts;
    }

    private static void assertFlat(List<Integer> counts) {
        int reference = counts.get(0);
        for (int i = 1; i < counts.size(); i++) {
            if (counts.get(i) != reference) {
                throw new AssertionError("live native arrays grew from " + reference + " after step 1 to " + counts.get(i)
                        + " after step " + (i + 1) + ": " + counts);
            }
        }
    }
}
