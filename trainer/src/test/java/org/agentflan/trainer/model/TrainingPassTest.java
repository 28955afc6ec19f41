package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Activation recompute and blocked attention change what a training pass keeps, never what it computes: the loss, the
 * hidden states and the gradient of every weight equal the plain whole-graph pass's in fp32 (relative L2 error below
 * 1e-6, a few float32 roundings; a wrong mask, a lost residual gradient or a gradient counted twice gives errors of
 * order 1). The batch is packed: two rows, several samples each, padding, grouped-query attention, and block sizes that
 * do not divide the sequence.
 */
class TrainingPassTest {
    private static final double TOLERANCE = 1e-6;
    // hidden 32, intermediate 72, 3 layers, 4 query heads on 2 KV heads, vocabulary 97
    private static final LlamaConfig CONFIG = new LlamaConfig(97, 32, 72, 3, 4, 2, 1e-5, 10000.0, 64, false, 1, 2, null, null,
            null, null);
    private static final int T = 13;

    /** What one pass gave: its summed loss, hidden states and every weight's gradient. */
    private record Pass(float loss, float[] hidden, Map<String, float[]> grads) {}

    @ParameterizedTest(name = "recompute={0}, attention_block={1}")
    @CsvSource({"true, 0", "false, 4", "true, 4", "false, 1", "true, 5", "false, 13", "true, 64"})
    void gradientsEqualThePlainPass(boolean recompute, int block) {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 7)) {
            model.setTrainable(true);
            Pass plain = pass(model, manager, ActivationOptions.NONE);
            Pass lean = pass(model, manager, new ActivationOptions(recompute, block));
            assertEquals(plain.loss(), lean.loss(), Math.abs(plain.loss()) * TOLERANCE, "loss");
            assertClose("hidden states", plain.hidden(), lean.hidden());
            assertEquals(plain.grads().keySet(), lean.grads().keySet());
            for (Map.Entry<String, float[]> g : plain.grads().entrySet()) {
                assertTrue(norm(g.getValue()) > 0, g.getKey() + " got no gradient, so the comparison would prove nothing");
                assertClose("gradient of " + g.getKey(), g.getValue(), lean.grads().get(g.getKey()));
            }
        }
    }

    @Test
    void blockedAttentionScoresAndGeneratesLikeTheWholeAttention() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 3)) {
            Batch b = Batch.of(manager);
            float[] whole = model.forward(b.ids, b.positions, b.segments, DataType.FLOAT32).toFloatArray();
            float[] prompt = cached(model, manager, b.ids.get("0, :9"), b.ids.get("0, 9:"));
            model.setActivationOptions(new ActivationOptions(false, 3));
            assertClose("hidden states", whole, model.forward(b.ids, b.positions, b.segments, DataType.FLOAT32).toFloatArray());
            // With a KV cache: a 9-token prompt in blocks of 3, then 4 tokens continuing it.
            assertClose("cached hidden states", prompt, cached(model, manager, b.ids.get("0, :9"), b.ids.get("0, 9:")));
        }
    }

    @Test
    void theComparisonSeesAWrongMask() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 7)) {
            model.setTrainable(true);
            Pass packed = pass(model, manager, ActivationOptions.NONE);
            Batch b = Batch.of(manager);
            // One sample per row instead of several: the packed samples would see each other.
            NDArray oneSample = b.segments.neq(0).toType(DataType.INT32, false);
            float[] leaky = model.forward(b.ids, b.positions, oneSample, DataType.FLOAT32).toFloatArray();
            assertTrue(ReferenceCase.relativeL2(leaky, packed.hidden()) > 1e-3);
        }
    }

    private static Pass pass(LlamaModel model, NDManager parent, ActivationOptions options) {
        model.setActivationOptions(options);
        try (NDManager step = parent.newSubManager()) {
            Batch b = Batch.of(step);
            float loss;
            float[] hidden;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                TrainingPass pass = model.trainingForward(b.ids, b.positions, b.segments, DataType.FLOAT32);
                hidden = pass.hidden().toFloatArray();
                NDArray nll = MaskedCrossEntropy.sum(model, pass.hidden(), b.targets, b.lossMask, 5);
                loss = nll.getFloat();
                pass.backward(nll);
            }
            Map<String, float[]> grads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                try (NDArray g = p.getValue().getGradient()) {
                    grads.put(p.getKey(), g.toFloatArray());
                }
            }
            model.zeroGradients();
            return new Pass(loss, hidden, grads);
        }
    }

    /** Hidden states of {@code rest} after {@code prompt}, through the KV cache. */
    private static float[] cached(LlamaModel model, NDManager manager, NDArray prompt, NDArray rest) {
        try (KvCache cache = new KvCache(CONFIG, manager)) {
            model.forward(prompt.expandDims(0), cache, DataType.FLOAT32);
            return model.forward(rest.expandDims(0), cache, DataType.FLOAT32).toFloatArray();
        }
    }

    /** Two packed rows of 13: row 0 holds samples of 4, 6 and 3 tokens; row 1 samples of 7 and 3, then 3 of padding. */
    private record Batch(NDArray ids, NDArray positions, NDArray segments, NDArray targets, NDArray lossMask) {
        static Batch of(NDManager m) {
            int[] seg = {1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0};
            long[] pos = {0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0, 0, 0};
            long[] ids = new long[2 * T];
            long[] targets = new long[2 * T];
            int[] mask = new int[2 * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (i * 37L + 11) % CONFIG.vocabSize();
                targets[i] = (i * 53L + 5) % CONFIG.vocabSize();
                mask[i] = seg[i] != 0 && i % 5 != 0 ? 1 : 0;
            }
            Shape shape = new Shape(2, T);
            return new Batch(m.create(ids, shape), m.create(pos, shape), m.create(seg, shape), m.create(targets, shape),
                    m.create(mask, shape));
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        double error = ReferenceCase.relativeL2(actual, expected);
        assertTrue(error < TOLERANCE, what + ": relative L2 error " + error);
    }

    private static double norm(float[] values) {
        double sum = 0;
        for (float v : values) {
            sum += (double) v * v;
        }
        return Math.sqrt(sum);
    }
}
