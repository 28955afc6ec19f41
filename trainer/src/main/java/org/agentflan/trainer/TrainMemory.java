package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.agentflan.trainer.memory.MemoryPlan;
import org.agentflan.trainer.model.ActivationOptions;
import org.agentflan.trainer.model.LlamaConfig;

/**
 * The memory plan of a train config ({@link MemoryPlan}) on one device, the device's memory, and the check that
 * {@code train} makes before loading anything: a configuration that cannot fit is refused with the knobs that would
 * make it fit, each with the plan it would give.
 */
public final class TrainMemory {
    /** CUDA's context and cuBLAS's workspace take about this much of a GPU before any tensor (an estimate). */
    private static final long CUDA_RESERVE = 1L << 30;
    /** libtorch's code and thread pools and the JVM's own code beside its heap, on CPU (measured: 450 MB RSS at start). */
    private static final long CPU_NATIVE_RESERVE = 512L << 20;

    private TrainMemory() {
    }

    /** A plan and the device it was made for. {@code deviceBytes} is what the device offers. */
    public record Budget(LlamaConfig model, MemoryPlan plan, long deviceBytes, String device) {
        public boolean fits() {
            return plan.totalBytes() <= deviceBytes;
        }

        /** The share of the device left free at the plan's peak (negative when it does not fit). */
        public double headroom() {
            return 1.0 - plan.totalBytes() / (double) deviceBytes;
        }
    }

    /**
     * The budget of {@code cfg} for one of {@code world} ranks on {@code device}. The model's architecture comes from
     * {@code model.init} (for {@code hf}, {@code config.json} alone is read). {@code deviceBytes} overrides the
     * device's memory when positive, else {@code memory.device_bytes}, else the device is asked.
     */
    public static Budget budget(TrainConfig cfg, Device device, long deviceBytes, int world) {
        return budget(cfg, StartingModel.of(cfg, Resume.FRESH).config(), device, deviceBytes, world);
    }

    static Budget budget(TrainConfig cfg, LlamaConfig model, Device device, long deviceBytes, int world) {
        long offered = deviceBytes > 0 ? deviceBytes : cfg.memory().deviceBytes() > 0 ? cfg.memory().deviceBytes()
                : deviceMemory(device);
        return new Budget(model, MemoryPlan.of(model, shape(cfg, cfg.memory().activations(), cfg.batch().microBatch(),
                device, world)), offered, device.toString());
    }

    /** Refuses, before anything is loaded, a configuration whose plan exceeds the device; prints the plan's total. */
    static void requireFit(TrainConfig cfg, LlamaConfig model, Device device, int world, java.io.PrintStream console) {
        Budget budget = budget(cfg, model, device, 0, world);
        console.printf(Locale.ROOT, "memory: plan %s of %s on %s (%.0f%% free at the peak; agentflan plan prints the items)%n",
                MemoryPlan.gib(budget.plan().totalBytes()), MemoryPlan.gib(budget.deviceBytes()), budget.device(),
                100 * budget.headroom());
        if (!budget.fits()) {
            throw new TrainException("the step needs " + MemoryPlan.gib(budget.plan().totalBytes()) + " per device but "
                    + budget.device() + " offers " + MemoryPlan.gib(budget.deviceBytes()) + " (memory.device_bytes, else"
                    + " the device's memory); " + remedies(cfg, model, device, budget.deviceBytes(), world)
                    + "; `agentflan plan` prints every item");
        }
    }

    /** What to turn, with the plan each change alone gives, largest saving first. */
    public static String remedies(TrainConfig cfg, LlamaConfig model, Device device, long deviceBytes, int world) {
        ActivationOptions now = cfg.memory().activations();
        int micro = cfg.batch().microBatch();
        List<String> knobs = new ArrayList<>();
        if (!now.recompute()) {
            knobs.add(knob("memory.recompute=true", model, cfg, new ActivationOptions(true, now.attentionBlock()), micro, device, world));
        }
        int block = Math.min(512, cfg.data().seqLen() / 2);
        if (now.attentionBlock() == 0 && block > 0) {
            knobs.add(knob("memory.attention_block=" + block, model, cfg, new ActivationOptions(now.recompute(), block), micro, device, world));
        }
        if (micro > 1) {
            knobs.add(knob("batch.micro_batch=1 (and batch.grad_accum x" + micro + " to keep the global batch)", model, cfg,
                    now, 1, device, world));
        }
        if (cfg.distributed().zeroStage() == 0 && world > 1) {
            knobs.add(zeroKnob(cfg, model, now, micro, device, world));
        }
        MemoryPlan plan = MemoryPlan.of(model, shape(cfg, new ActivationOptions(true, block), 1, device, world));
        String all = "all of them together give " + MemoryPlan.gib(plan.totalBytes());
        if (plan.totalBytes() > deviceBytes) {
            long moments = plan.items().stream().filter(i -> i.name().equals("optimizer_moments")).findFirst().orElseThrow().bytes();
            all += ", still above the device: the AdamW moments alone are " + MemoryPlan.gib(moments) + " per rank"
                    + (cfg.distributed().zeroStage() == 1 ? " (split over " + world + " ranks); add ranks"
                    : "; train on several ranks with distributed.zero_stage=1 to split them")
                    + ", or use a device with more memory or a smaller model";
        }
        knobs.add(all);
        return "set " + String.join(", ", knobs);
    }

    private static String knob(String setting, LlamaConfig model, TrainConfig cfg, ActivationOptions activations,
                               int microBatch, Device device, int world) {
        return setting + " (plan " + MemoryPlan.gib(MemoryPlan.of(model, shape(cfg, activations, microBatch, device, world))
                .totalBytes()) + ")";
    }

    /** distributed.zero_stage=1 as a remedy: the same shape with the moments split over the ranks. */
    private static String zeroKnob(TrainConfig cfg, LlamaConfig model, ActivationOptions activations, int microBatch,
                                   Device device, int world) {
        MemoryPlan.Shape plain = shape(cfg, activations, microBatch, device, world);
        MemoryPlan.Shape sharded = new MemoryPlan.Shape(plain.microBatch(), plain.seqLen(), plain.computeBytes(),
                plain.activations(), plain.chunkTokens(), world, plain.runtimeReserve());
        return "distributed.zero_stage=1 (plan " + MemoryPlan.gib(MemoryPlan.of(model, sharded).totalBytes()) + ")";
    }

    private static MemoryPlan.Shape shape(TrainConfig cfg, ActivationOptions activations, int microBatch, Device device,
                                          int world) {
        // ZeRO-1 splits the AdamW moments over the ranks; without it every rank holds all of them.
        int shards = cfg.distributed().zeroStage() == 1 ? world : 1;
        return new MemoryPlan.Shape(microBatch, cfg.data().seqLen(), cfg.computeDtype().dataType().getNumOfBytes(),
                activations, cfg.model().chunkTokens(), shards, runtimeReserve(device));
    }

    /** On CPU the JVM's heap and libtorch's code share the memory with the tensors; on a GPU, CUDA's context. */
    static long runtimeReserve(Device device) {
        return device.isGpu() ? CUDA_RESERVE : Runtime.getRuntime().maxMemory() + CPU_NATIVE_RESERVE;
    }

    /** A GPU's total memory (DJL's CUDA query), or on CPU the machine's physical memory ({@code MemTotal}). */
    static long deviceMemory(Device device) {
        if (device.isGpu()) {
            if (CudaUtils.getGpuCount() <= device.getDeviceId()) {
                throw new TrainException("cannot ask " + device + " for its memory: this machine has "
                        + CudaUtils.getGpuCount() + " GPU(s); give the device's bytes (memory.device_bytes, or plan's"
                        + " --device-memory)");
            }
            return CudaUtils.getGpuMemory(device).getMax();
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/meminfo for the machine's memory; set memory.device_bytes", e);
        }
        throw new TrainException("/proc/meminfo has no MemTotal line; set memory.device_bytes to this machine's memory");
    }
}
