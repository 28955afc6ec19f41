package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.agentflan.trainer.memory.MemoryPlan;
import org.agentflan.trainer.model.ActivationOptions;
import org.agentflan.trainer.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plan's arithmetic on the 7B recipe, and train's refusal of a configuration that cannot fit. */
class MemoryPlanTest {
    private static final long EIGHTY_GB = 80_000_000_000L;
    private static final Path RECIPE = Path.of("..", "configs", "train", "agent-flan-7b.yaml");

    /**
     * Llama-2-7B's fp32 weights and gradients are 53.9 GB and its AdamW moments another 53.9 GB, so no 80 GB GPU holds
     * the recipe while every rank keeps all the moments; split over 8 ranks by the recipe's ZeRO-1, with its
     * recompute, 512-row attention blocks and one row per pass, at least 10% of the GPU stays free.
     */
    @Test
    void theSevenBRecipeFitsEightyGigabyteGpusWithTenPercentFreeWithItsMomentsSplitOverEight() {
        TrainConfig cfg = TrainConfig.load(RECIPE, List.of("model.init=llama2_7b"));
        TrainConfig unshardedCfg = TrainConfig.load(RECIPE, List.of("model.init=llama2_7b", "distributed.zero_stage=0"));
        TrainMemory.Budget unsharded = TrainMemory.budget(unshardedCfg, Device.gpu(0), EIGHTY_GB, 8);
        assertFalse(unsharded.fits(), "every rank holding 54 GB of moments cannot fit 80 GB: " + unsharded.plan());
        Map<String, Long> items = items(unsharded.plan());
        assertEquals(4L * 6_738_415_616L, items.get("weights_fp32"));
        assertEquals(8L * 6_738_415_616L, items.get("optimizer_moments"));

        TrainMemory.Budget sharded = TrainMemory.budget(cfg, Device.gpu(0), EIGHTY_GB, 8);
        assertEquals(8L * 6_738_415_616L / 8, items(sharded.plan()).get("optimizer_moments"));
        assertTrue(sharded.headroom() >= 0.10, "7B on 8 x 80 GB plans " + sharded.plan().totalBytes() + " bytes per GPU, "
                + sharded.headroom() + " free");
        // One rank alone holds all the moments, ZeRO-1 or not.
        assertFalse(TrainMemory.budget(cfg, Device.gpu(0), EIGHTY_GB, 1).fits());
    }

    /** Recompute keeps one layer's graph instead of all; blocks keep no scores: the plan shows both. */
    @Test
    void recomputeAndBlocksShrinkTheActivationsByWhatTheyNoLongerKeep() {
        LlamaConfig model = LlamaConfig.llama2_7b();
        long plain = activations(model, ActivationOptions.NONE);
        long recompute = activations(model, new ActivationOptions(true, 0));
        long blocked = activations(model, new ActivationOptions(false, 512));
        long both = activations(model, new ActivationOptions(true, 512));
        // 32 layers of [1, 4096, 4096] bf16 scores with their fp32 softmax: 32 x 537M x 6 bytes
        assertEquals(32L * 32 * 4096 * 4096 * 6 - 32L * 4096 * 4096 * 2, plain - blocked);
        assertTrue(recompute < plain / 20, recompute + " vs " + plain);
        assertTrue(both < recompute && both < blocked);
    }

    @Test
    void trainRefusesAConfigurationThatCannotFitBeforeLoadingAnything(@TempDir Path dir) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // The data folder does not exist: the memory check comes first, so it is never looked at.
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null, List.of(
                "run_dir=" + dir.resolve("run"), "data.dirs=[" + dir.resolve("no-data") + "]", "data.seq_len=512",
                "batch.micro_batch=4", "memory.device_bytes=" + (3L << 30)), null, null, "none", null),
                new PrintStream(out, true, StandardCharsets.UTF_8)));
        String message = e.getMessage();
        assertTrue(message.contains("offers 3.00 GiB (memory.device_bytes"), message);
        assertTrue(message.contains("memory.recompute=true (plan "), message);
        assertTrue(message.contains("memory.attention_block=256 (plan "), message);
        assertTrue(message.contains("batch.micro_batch=1 (and batch.grad_accum x4"), message);
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("data:"), "the data was read before the check: " + out);
    }

    private static long activations(LlamaConfig model, ActivationOptions options) {
        return items(MemoryPlan.of(model, new MemoryPlan.Shape(1, 4096, 2, options, 2048, 1, 0))).get("activations");
    }

    private static Map<String, Long> items(MemoryPlan plan) {
        return plan.items().stream().collect(Collectors.toMap(MemoryPlan.Item::name, MemoryPlan.Item::bytes));
    }
}
