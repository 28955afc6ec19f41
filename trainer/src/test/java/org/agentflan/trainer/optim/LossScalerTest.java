package org.agentflan.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The loss scaler, with the unscale, skip and AdamW around it as the training step does them, against
 * GradScaler's rule written out in scripts/reference/loss_scale_reference.py on fp32 gradients with an Inf, a -Inf and
 * a NaN injected (an fp16 overflow). Scales and skip decisions must match exactly; parameters within AdamWGoldenTest's
 * tolerance. The real fp16 path (a CPU training run that overflows) is in TrainMixedPrecisionTest.
 */
class LossScalerTest {
    private static final double TOL = 2e-6;

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = array.get(i);
            out[i] = v.isTextual() ? switch (v.asText()) {
                case "inf" -> Float.POSITIVE_INFINITY;
                case "-inf" -> Float.NEGATIVE_INFINITY;
                case "nan" -> Float.NaN;
                default -> throw new IllegalArgumentException(v.asText());
            } : (float) v.asDouble();
        }
        return out;
    }

    @Test
    void followsGradScalersRuleAroundAdamW() throws Exception {
        JsonNode g;
        try (InputStream in = getClass().getResourceAsStream("loss_scale_golden.json")) {
            g = new ObjectMapper().readTree(in);
        }
        LossScaler scaler = new LossScaler(g.get("init_scale").asDouble(), g.get("growth_factor").asDouble(),
                g.get("backoff_factor").asDouble(), g.get("growth_interval").asLong(), 1.0);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("weight", manager.create(floats(g.get("init").get("weight")), new Shape(4, 3)));
            params.put("bias", manager.create(floats(g.get("init").get("bias")), new Shape(3)));
            AdamW adamw = new AdamW(new AdamW.Settings(g.get("beta1").asDouble(), g.get("beta2").asDouble(),
                    g.get("eps").asDouble(), g.get("weight_decay").asDouble()), params, manager);
            int k = 0;
            int skipped = 0;
            for (JsonNode step : g.get("steps")) {
                String where = "step " + k++;
                assertEquals(step.get("scale").asDouble(), scaler.scale(), where + " scale");
                Map<String, NDArray> grads = new LinkedHashMap<>();
                grads.put("weight", manager.create(floats(step.get("scaled_grad_weight")), new Shape(4, 3)));
                grads.put("bias", manager.create(floats(step.get("scaled_grad_bias")), new Shape(3)));
                NDArray inverse = manager.create(1f / scaler.scale());
                grads.values().forEach(x -> x.muli(inverse));
                double norm = GradClip.globalNorm(List.copyOf(grads.values()));
                boolean overflow = !Double.isFinite(norm);
                assertEquals(step.get("skipped").asBoolean(), overflow, where + " skipped");
                LossScaler.Change change = scaler.update(overflow);
                LossScaler.Change expected = overflow ? LossScaler.Change.LOWERED
                        : step.get("scale_after").asDouble() > step.get("scale").asDouble() ? LossScaler.Change.GREW
                        : LossScaler.Change.KEPT;
                assertEquals(expected, change, where + " change");
                if (!overflow) {
                    assertEquals(step.get("grad_norm").asDouble(), norm, 1e-5 * norm, where + " grad norm");
                    GradClip.clipTo(List.copyOf(grads.values()), g.get("max_norm").asDouble(), norm);
                    adamw.update(params, grads, g.get("lr").asDouble());
                } else {
                    skipped++;
                }
                assertEquals(step.get("scale_after").asDouble(), scaler.state().scale(), where + " scale after");
                assertEquals(step.get("good_steps_after").asLong(), scaler.state().goodSteps(), where + " good steps");
                float[] w = params.get("weight").toFloatArray();
                float[] ew = floats(step.get("weight"));
                for (int i = 0; i < w.length; i++) {
                    assertEquals(ew[i], w[i], TOL, where + " weight[" + i + "]");
                }
                float[] b = params.get("bias").toFloatArray();
                float[] eb = floats(step.get("bias"));
                for (int i = 0; i < b.length; i++) {
                    assertEquals(eb[i], b[i], TOL, where + " bias[" + i + "]");
                }
            }
            assertEquals(3, skipped, "the reference injects three overflows");
            assertEquals(g.get("steps").size() - skipped, adamw.step(), "a skipped step does not count in AdamW's bias correction");
        }
    }

    @Test
    void neverFallsBelowItsFloorAndDoesNotGrowPastFloat32() {
        LossScaler scaler = new LossScaler(4.0, 2.0, 0.5, 1, 1.0);
        assertEquals(LossScaler.Change.LOWERED, scaler.update(true));
        assertEquals(LossScaler.Change.LOWERED, scaler.update(true));
        assertEquals(1.0f, scaler.scale());
        assertEquals(LossScaler.Change.AT_FLOOR, scaler.update(true), "an overflow at the floor is not the scaler's to fix");
        assertEquals(1.0f, scaler.scale());
        LossScaler top = new LossScaler(Math.pow(2, 127), 2.0, 0.5, 1, 1.0);
        assertEquals(LossScaler.Change.KEPT, top.update(false), "2^128 is not a float32");
        assertEquals((float) Math.pow(2, 127), top.scale());
        LossScaler resumed = new LossScaler(new LossScaler.State(8.0, 1), 2.0, 0.5, 2, 1.0);
        assertEquals(LossScaler.Change.GREW, resumed.update(false), "the saved good-step count carries over");
        assertEquals(16.0f, resumed.scale());
    }
}
