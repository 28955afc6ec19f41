package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Map;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Java Llama against {@code scripts/reference/llama_reference.py} (float64 torch written from the equations):
 * logits and the gradient of every parameter of a masked, packed batch must agree to a relative L2 error below
 * 1e-5. That bound is about 100x float32 rounding accumulated over two layers, and far below any real bug (a wrong
 * RoPE layout, mask or GQA mapping gives errors of order 1).
 */
class LlamaParityTest {
    private static final double TOLERANCE = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"gqa_f32", "tied_sharded_f32", "gqa_bf16", "gqa_f16"})
    void logitsLossAndEveryGradientMatchTheReference(String name) throws Exception {
        ReferenceCase ref = ReferenceCase.load(name);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = ref.model(manager)) {
            model.setTrainable(true);
            NDArray ids = ref.longs2d(manager, "input_ids", DataType.INT64);
            NDArray positions = ref.longs2d(manager, "positions", DataType.INT64);
            NDArray segments = ref.longs2d(manager, "segment_ids", DataType.INT32);
            NDArray targets = ref.longs2d(manager, "targets", DataType.INT64);
            NDArray mask = ref.longs2d(manager, "loss_mask", DataType.INT32);
            float[] logits;
            float loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray hidden = model.forward(ids, positions, segments, DataType.FLOAT32);
                logits = model.logits(hidden).toFloatArray();
                // chunk of 3 tokens: the 10 loss tokens span four chunks, the last one partial
                NDArray lossSum = MaskedCrossEntropy.sum(model, hidden, targets, mask, 3);
                loss = lossSum.getFloat();
                collector.backward(lossSum);
            }
            double logitError = ReferenceCase.relativeL2(logits, ref.logits());
            assertTrue(logitError < TOLERANCE, name + ": logits relative L2 error " + logitError);
            double expectedLoss = ref.golden.get("loss_sum").asDouble();
            assertEquals(expectedLoss, loss, expectedLoss * TOLERANCE, name + ": loss");
            assertEquals(ref.config.parameterShapes().size(), model.parameters().size());
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                double error = ReferenceCase.relativeL2(p.getValue().getGradient().toFloatArray(), ref.grad(p.getKey()));
                assertTrue(error < TOLERANCE, name + ": gradient of " + p.getKey() + " relative L2 error " + error);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_f32", "tied_sharded_f32", "gqa_bf16", "gqa_f16"})
    void theCheckpointOnDiskLoadsToTheReferenceWeights(String name) throws Exception {
        ReferenceCase ref = ReferenceCase.load(name);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = HfCheckpoint.loadModel(ref.modelDir(), manager)) {
            assertEquals(ref.config, model.config());
            Map<String, NDArray> expected = ref.weights(manager);
            assertEquals(expected.keySet(), model.parameters().keySet());
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                assertEquals(DataType.FLOAT32, p.getValue().getDataType());
                // F16 and BF16 widen to F32 exactly, so equality is exact
                assertArrayEquals(expected.get(p.getKey()).toFloatArray(), p.getValue().toFloatArray(), 0f, p.getKey());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_f32", "tied_sharded_f32"})
    void lossWithoutGradientsEqualsTheReference(String name) throws Exception {
        ReferenceCase ref = ReferenceCase.load(name);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = ref.model(manager)) {
            NDArray hidden = model.forward(ref.longs2d(manager, "input_ids", DataType.INT64),
                    ref.longs2d(manager, "positions", DataType.INT64), ref.longs2d(manager, "segment_ids", DataType.INT32),
                    DataType.FLOAT32);
            NDArray targets = ref.longs2d(manager, "targets", DataType.INT64);
            NDArray mask = ref.longs2d(manager, "loss_mask", DataType.INT32);
            float mean = MaskedCrossEntropy.mean(model, hidden, targets, mask, 4);
            double expected = ref.golden.get("loss_sum").asDouble() / ref.golden.get("loss_tokens").asInt();
            assertEquals(expected, mean, expected * TOLERANCE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"gqa_f32"})
    void aPackedRowEqualsItsSamplesRunSeparately(String name) throws Exception {
        ReferenceCase ref = ReferenceCase.load(name);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = ref.model(manager)) {
            long[] row = ref.longs2d(manager, "input_ids", DataType.INT64).get(0).toLongArray();
            NDArray packedIds = manager.create(row, new Shape(1, 10));
            NDArray packedPositions = manager.create(new long[] {0, 1, 2, 3, 0, 1, 2, 3, 4, 5}, new Shape(1, 10));
            NDArray packedSegments = manager.create(new int[] {1, 1, 1, 1, 2, 2, 2, 2, 2, 2}, new Shape(1, 10));
            float[] packed = model.logits(model.forward(packedIds, packedPositions, packedSegments, DataType.FLOAT32))
                    .toFloatArray();
            float[] first = alone(model, manager, java.util.Arrays.copyOfRange(row, 0, 4));
            float[] second = alone(model, manager, java.util.Arrays.copyOfRange(row, 4, 10));
            int vocab = ref.config.vocabSize();
            assertArrayEquals(first, java.util.Arrays.copyOfRange(packed, 0, 4 * vocab), 1e-5f);
            assertArrayEquals(second, java.util.Arrays.copyOfRange(packed, 4 * vocab, 10 * vocab), 1e-5f);
            // Without segment isolation the second sample would see the first: prove the check can fail.
            NDArray oneSegment = manager.ones(new Shape(1, 10), DataType.INT32);
            float[] leaky = model.logits(model.forward(packedIds, packedPositions, oneSegment, DataType.FLOAT32))
                    .toFloatArray();
            double leak = ReferenceCase.relativeL2(java.util.Arrays.copyOfRange(leaky, 4 * vocab, 10 * vocab), second);
            assertTrue(leak > 1e-3, "segment ids made no difference: " + leak);
        }
    }

    private static float[] alone(LlamaModel model, NDManager manager, long[] ids) {
        int t = ids.length;
        NDArray positions = manager.arange(0, t, 1, DataType.INT64).reshape(1, t);
        NDArray segments = manager.ones(new Shape(1, t), DataType.INT32);
        return model.logits(model.forward(manager.create(ids, new Shape(1, t)), positions, segments, DataType.FLOAT32))
                .toFloatArray();
    }
}
