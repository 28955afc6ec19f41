package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.metrics.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real {@link Train} loop (tiny model, 36 steps with eval every 5 and a checkpoint every 10) must hold the same
 * number of live native arrays after every step once warmed up: each step's batch, activations, gradient handles,
 * optimizer temporaries, eval scopes and checkpoint writes die with their step. Counted by the loop itself into
 * {@code metrics.jsonl} ({@code live_arrays}: DJL's {@code getManagedArrays()} over the run's root manager).
 */
class TrainNativeMemoryTest {
    private static final int STEPS = 36;
    /** Steps 1-2 create the model's lazy constants (attention scale, rotary tables on first use). */
    private static final int WARM_UP = 2;

    @TempDir Path tmp;

    @Test
    void liveArraysStayFlatAcrossStepsEvalAndCheckpoints() throws Exception {
        List<Integer> counts = run("flat", (step, model) -> { });
        assertEquals(STEPS, counts.size());
        assertFlat(counts);
    }

    /** The layer-by-layer pass closes what it keeps: inputs, per-layer graphs, gradients of layer inputs. */
    @Test
    void liveArraysStayFlatWithRecomputeAndAttentionBlocks() throws Exception {
        List<Integer> counts = run("lean", (step, model) -> { }, "memory.recompute=true", "memory.attention_block=8");
        assertEquals(STEPS, counts.size());
        assertFlat(counts);
    }

    @Test
    void theCheckCatchesALeakInsideTheLoop() throws Exception {
        // getGradient() hands out a new handle owned by the weight's manager; dropping it leaks one array per step.
        List<Integer> counts = run("leak", (step, model) -> model.parameters().get("model.norm.weight").getGradient());
        AssertionError error = assertThrows(AssertionError.class, () -> assertFlat(counts));
        assertTrue(error.getMessage().contains("changed from"), error.getMessage());
    }

    private List<Integer> run(String name, Train.StepHook hook, String... overrides) throws Exception {
        Path data = TrainFixtures.dataDir(tmp.resolve(name));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<String> settings = new ArrayList<>(List.of("data.holdout_fraction=0.2", "eval.every=5", "eval.max_rows=4",
                "checkpoint.every=10", "checkpoint.keep=2"));
        settings.addAll(List.of(overrides));
        Train.Result result = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data,
                settings.toArray(new String[0])), tmp.resolve(name + "-run"),
                (long) STEPS, "none", null), new PrintStream(log, true), hook, SaveObserver.NONE);
        assertEquals(StopReason.COMPLETED, result.stopReason(), log.toString());
        assertTrue(log.toString().contains("eval step 5"), "eval must run inside the measured steps: " + log);
        List<Integer> counts = new ArrayList<>();
        for (JsonNode line : MetricsLog.read(result.metrics())) {
            if ("train".equals(line.get("type").asText())) {
                counts.add(line.get("live_arrays").asInt());
            }
        }
        return counts;
    }

    /** Every count after warm-up equals the first one after warm-up. */
    private static void assertFlat(List<Integer> counts) {
        List<Integer> settled = counts.subList(WARM_UP, counts.size());
        int base = settled.get(0);
        for (int i = 0; i < settled.size(); i++) {
            if (settled.get(i) != base) {
                throw new AssertionError("live native arrays changed from " + base + " to " + settled.get(i) + " by step "
                        + (WARM_UP + i + 1) + ": " + counts);
            }
        }
    }
}
