package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The mixed-precision path (fp32 master weights, fp16 compute) on CPU, where fp16 works in DJL (BF16 does not):
 * the loss and every gradient stay close to the fp32 reference, and gradients land on the fp32 masters.
 * Tolerance 2e-2 relative L2: fp16 has an 11-bit mantissa, and errors grow through two layers and the backward pass.
 */
class HalfPrecisionTest {

    @Test
    void float16ComputeTracksTheReferenceAndKeepsFp32Gradients() throws Exception {
        ReferenceCase ref = ReferenceCase.load("gqa_f32");
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = ref.model(manager)) {
            model.setTrainable(true);
            float loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray hidden = model.forward(ref.longs2d(manager, "input_ids", DataType.INT64),
                        ref.longs2d(manager, "positions", DataType.INT64),
                        ref.longs2d(manager, "segment_ids", DataType.INT32), DataType.FLOAT16);
                assertEquals(DataType.FLOAT16, hidden.getDataType());
                NDArray sum = MaskedCrossEntropy.sum(model, hidden, ref.longs2d(manager, "targets", DataType.INT64),
                        ref.longs2d(manager, "loss_mask", DataType.INT32), 4);
                assertEquals(DataType.FLOAT32, sum.getDataType());
                loss = sum.getFloat();
                collector.backward(sum);
            }
            double expected = ref.golden.get("loss_sum").asDouble();
            assertEquals(expected, loss, 2e-2 * expected);
            Map<String, Double> errors = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> p : model.parameters().entrySet()) {
                try (NDArray grad = p.getValue().getGradient()) {
                    assertEquals(DataType.FLOAT32, grad.getDataType(), p.getKey());
                    errors.put(p.getKey(), ReferenceCase.relativeL2(grad.toFloatArray(), ref.grad(p.getKey())));
                }
            }
            for (Map.Entry<String, Double> e : errors.entrySet()) {
                assertTrue(e.getValue() < 2e-2, "fp16 gradient of " + e.getKey() + " relative L2 error " + e.getValue()
                        + "; all: " + errors);
            }
        }
    }
}
