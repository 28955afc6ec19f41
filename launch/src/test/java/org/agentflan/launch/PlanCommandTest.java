package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code agentflan plan} as a user runs it: the budget of a recipe, as a table and as JSON, and what does not fit. */
class PlanCommandTest {
    private static final String RECIPE = "../configs/train/agent-flan-7b.yaml";

    @Test
    void jsonGivesEveryItemTheTotalAndTheDevice() throws Exception {
        CliRun run = CliRun.of("plan", "--config", "../configs/train/tiny.yaml", "--device", "cpu",
                "--device-memory", "100000000000", "--json");
        assertEquals(0, run.code(), run.err());
        JsonNode plan = new ObjectMapper().readTree(run.out());
        long sum = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = plan.get("items").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> item = it.next();
            assertTrue(item.getValue().asLong() >= 0, item.getKey());
            if (!item.getKey().equals("optimizer_workspace")) {
                sum += item.getValue().asLong(); // AdamW's temporaries come after the activations are gone
            }
        }
        assertEquals(100_000_000_000L, plan.get("device_bytes").asLong());
        assertTrue(plan.get("items").has("optimizer_moments") && plan.get("items").has("activations"));
        assertEquals(sum, plan.get("total_bytes_per_device").asLong(), "the total is the items' peak: " + plan);
        assertTrue(plan.get("fits").asBoolean());
    }

    @Test
    void theSevenBRecipeFitsEightGpusOnlyWithItsMomentsSplit() {
        String[] plan = {"plan", "--config", RECIPE, "--set", "model.init=llama2_7b", "--device", "gpu",
            "--device-memory", "80000000000", "--world", "8"};
        CliRun sharded = CliRun.of(plan);
        assertEquals(0, sharded.code(), sharded.out() + sharded.err());
        assertTrue(sharded.out().contains("split over 8 ranks"), sharded.out());

        CliRun unsharded = CliRun.of(concat(plan, "--set", "distributed.zero_stage=0"));
        assertEquals(1, unsharded.code(), unsharded.out() + unsharded.err());
        assertTrue(unsharded.out().contains("does not fit"), unsharded.out());
        assertTrue(unsharded.out().contains("distributed.zero_stage=1 (plan "), unsharded.out());
        assertFalse(unsharded.out().contains("memory.recompute=true"), "the recipe already recomputes: " + unsharded.out());
    }

    private static String[] concat(String[] args, String... more) {
        String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    @Test
    void aBadDeviceIsOneErrorLine() {
        CliRun run = CliRun.of("plan", "--config", RECIPE, "--device", "tpu", "--device-memory", "1");
        assertEquals(2, run.code());
        assertTrue(run.err().startsWith("error: --device must be cpu or gpu"), run.err());
    }
}
