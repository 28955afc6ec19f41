package org.agentflan.trainer.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AdamW + clipping + schedule against torch.optim.AdamW, clip_grad_norm_ and LambdaLR
 * (fixture from scripts/reference/optim_reference.py). Tolerance 2e-6 absolute on O(1) parameters: both sides run
 * the same fp32 operations, differing only in the order of a few roundings (e.g. torch's fused addcdiv).
 */
class AdamWGoldenTest {
    private static final double TOL = 2e-6;
    @TempDir Path tmp;

    static JsonNode golden() throws Exception {
        try (InputStream in = AdamWGoldenTest.class.getResourceAsStream("adamw_golden.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    private static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOL, what + "[" + i + "]");
        }
    }

    @Test
    void matchesTorchForEveryScheduleKind() throws Exception {
        for (JsonNode run : golden().get("runs")) {
            try (NDManager manager = NDManager.newBaseManager()) {
                Map<String, NDArray> params = new LinkedHashMap<>();
                params.put("weight", manager.create(floats(run.get("init").get("weight")), new Shape(4, 3)));
                params.put("bias", manager.create(floats(run.get("init").get("bias")), new Shape(3)));
                AdamW adamw = new AdamW(new AdamW.Settings(run.get("beta1").asDouble(), run.get("beta2").asDouble(),
                        run.get("eps").asDouble(), run.get("weight_decay").asDouble()), params, manager);
                LrSchedule schedule = new LrSchedule(LrSchedule.Kind.valueOf(run.get("kind").asText().toUpperCase()),
                        run.get("lr").asDouble(), run.get("warmup_steps").asLong(), run.get("total_steps").asLong(),
                        run.get("min_lr_ratio").asDouble());
                int k = 0;
                for (JsonNode step : run.get("steps")) {
                    String where = run.get("kind").asText() + " step " + k;
                    Map<String, NDArray> grads = new LinkedHashMap<>();
                    grads.put("weight", manager.create(floats(step.get("grad_weight")), new Shape(4, 3)));
                    grads.put("bias", manager.create(floats(step.get("grad_bias")), new Shape(3)));
                    double lr = schedule.lr(k);
                    assertEquals(step.get("lr").asDouble(), lr, 1e-12, where + " lr");
                    double norm = GradClip.clip(List.copyOf(grads.values()), run.get("max_norm").asDouble());
                    assertEquals(step.get("grad_norm").asDouble(), norm, 1e-5 * norm, where + " grad norm");
                    // The reference decays the 2-D weight only (weight_decay 0.1): the bias matching too shows that
                    // 1-D parameters are not decayed.
                    adamw.update(params, grads, lr);
                    assertClose(floats(step.get("weight")), params.get("weight").toFloatArray(), where + " weight");
                    assertClose(floats(step.get("bias")), params.get("bias").toFloatArray(), where + " bias");
                    k++;
                }
                assertEquals(k, adamw.step());
            }
        }
    }

    @Test
    void savedAndReloadedStateContinuesBitIdentically() throws Exception {
        JsonNode run = golden().get("runs").get(0);
        try (NDManager manager = NDManager.newBaseManager()) {
            AdamW.Settings settings = new AdamW.Settings(0.9, 0.95, 1e-8, 0.1);
            Map<String, NDArray> straight = params(manager, run);
            Map<String, NDArray> resumed = params(manager, run);
            AdamW a = new AdamW(settings, straight, manager);
            AdamW b = new AdamW(settings, resumed, manager);
            JsonNode steps = run.get("steps");
            for (int k = 0; k < steps.size(); k++) {
                if (k == 3) {
                    OptimizerState.write(AtomicFileWriter.UNOBSERVED, tmp, b);
                    b = OptimizerState.restore(tmp, settings, resumed, manager);
                    assertEquals(3, b.step());
                }
                a.update(straight, grads(manager, steps.get(k)), 1e-2);
                b.update(resumed, grads(manager, steps.get(k)), 1e-2);
            }
            assertArrayEquals(straight.get("weight").toFloatArray(), resumed.get("weight").toFloatArray());
            assertArrayEquals(straight.get("bias").toFloatArray(), resumed.get("bias").toFloatArray());
        }
    }

    @Test
    void stateOfAnotherModelIsRejectedNamingTheParameter() throws Exception {
        JsonNode run = golden().get("runs").get(0);
        try (NDManager manager = NDManager.newBaseManager()) {
            AdamW.Settings settings = new AdamW.Settings(0.9, 0.95, 1e-8, 0.1);
            Map<String, NDArray> params = params(manager, run);
            AdamW a = new AdamW(settings, params, manager);
            Map<String, Shape> other = new LinkedHashMap<>();
            a.stateTensors().forEach((name, moment) -> other.put(name, moment.getShape()));
            other.put("exp_avg.weight", new Shape(3, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdamW.restore(settings, params,
                    manager, other, (name, moment) -> fail("read " + name + " although the state does not fit"), 1));
            assertTrue(e.getMessage().contains("exp_avg.weight has shape (3, 4)"), e.getMessage());
        }
    }

    private static Map<String, NDArray> params(NDManager manager, JsonNode run) {
        Map<String, NDArray> params = new LinkedHashMap<>();
        params.put("weight", manager.create(floats(run.get("init").get("weight")), new Shape(4, 3)));
        params.put("bias", manager.create(floats(run.get("init").get("bias")), new Shape(3)));
        return params;
    }

    private static Map<String, NDArray> grads(NDManager manager, JsonNode step) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        grads.put("weight", manager.create(floats(step.get("grad_weight")), new Shape(4, 3)));
        grads.put("bias", manager.create(floats(step.get("grad_bias")), new Shape(3)));
        return grads;
    }
}
