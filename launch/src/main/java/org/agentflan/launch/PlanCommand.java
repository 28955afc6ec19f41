package org.agentflan.launch;

import ai.djl.Device;
import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.TrainException;
import org.agentflan.trainer.TrainMemory;
import org.agentflan.trainer.memory.MemoryPlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan plan}: the per-device memory budget of a train config, and whether it fits. */
@Command(name = "plan",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Prints the per-device memory of a training step and if it fits.",
        description = {
            "Prints the memory one device needs at the peak of a training step of a train config: weights, compute-dtype",
            "copies, gradients, AdamW moments, activations (memory.recompute, memory.attention_block), the chunked loss,",
            "backward and optimizer temporaries, and the runtime's own share; then whether it fits the device. train makes",
            "the same check before loading anything. Nothing is loaded here except the model's config.json (model.init hf)."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            " 0:the plan fits the device",
            " 1:the plan does not fit (the knobs to turn are printed)",
            " 2:bad config or arguments (one 'error:' line)"},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan plan --config configs/train/tiny.yaml",
            "  scripts/agentflan plan --config configs/train/agent-flan-7b.yaml \\",
            "      --set model.init=llama2_7b --device gpu --device-memory 80000000000 \\",
            "      --world 8"})
public final class PlanCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "train recipe (YAML), e.g. configs/train/agent-flan-7b.yaml")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (dotted, repeatable)")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--world", paramLabel = "N", defaultValue = "1",
            description = "data-parallel ranks, one device each (default 1); with distributed.zero_stage=1 the AdamW"
                    + " moments are split over them")
    int world;

    @Option(names = "--device-memory", paramLabel = "BYTES",
            description = "memory of one device (default: memory.device_bytes, else this machine's GPU 0, else its RAM)")
    Long deviceMemory;

    @Option(names = "--device", paramLabel = "cpu|gpu",
            description = "the kind of device to plan for (default: gpu when this machine has one, else cpu); it decides"
                    + " the runtime's share: CUDA's context on a GPU, the JVM and libtorch on CPU")
    String deviceKind;

    @Option(names = "--json", description = "print the budget as JSON: every item, total_bytes_per_device, device_bytes")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (world < 1) {
            throw new UserError("--world must be >= 1, got " + world + "; give the number of data-parallel ranks");
        }
        if (deviceMemory != null && deviceMemory <= 0) {
            throw new UserError("--device-memory must be > 0 bytes, got " + deviceMemory
                    + "; give one device's memory in bytes, e.g. 85899345920 for 80 GiB");
        }
        InputPaths.file("--config", config, "a train recipe, e.g. configs/train/agent-flan-7b.yaml");
        TrainConfig cfg = TrainConfig.load(config, overrides);
        Device device = device();
        TrainMemory.Budget budget;
        try {
            budget = TrainMemory.budget(cfg, device, deviceMemory == null ? 0 : deviceMemory, world);
        } catch (TrainException e) {
            throw new UserError(e.getMessage(), e);
        }
        if (json) {
            printJson(budget, cfg);
        } else {
            printTable(budget, cfg);
            if (!budget.fits()) {
                System.out.println("does not fit: " + TrainMemory.remedies(cfg, budget.model(), device, budget.deviceBytes(), world));
            }
        }
        return budget.fits() ? 0 : 1;
    }

    /** {@code --device}, else this machine's first GPU if the engine sees one, else its CPU. */
    private Device device() {
        if (deviceKind == null) {
            return Engine.getEngine("PyTorch").getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
        }
        return switch (deviceKind) {
            case "cpu" -> Device.cpu();
            case "gpu" -> Device.gpu(0);
            default -> throw new UserError("--device must be cpu or gpu, got '" + deviceKind + "'; pass cpu or gpu");
        };
    }

    private void printTable(TrainMemory.Budget budget, TrainConfig cfg) {
        System.out.printf(Locale.ROOT, "memory plan per device: %,d parameters, micro_batch %d x seq_len %d, %s compute,"
                        + " recompute %s, attention_block %d, %d rank(s)%n", budget.model().parameterCount(),
                cfg.batch().microBatch(), cfg.data().seqLen(), cfg.computeDtype().name().toLowerCase(Locale.ROOT),
                cfg.memory().recompute(), cfg.memory().attentionBlock(), world);
        for (MemoryPlan.Item item : budget.plan().items()) {
            System.out.printf(Locale.ROOT, "  %-22s %12s  %s%n", item.name(), MemoryPlan.gib(item.bytes()), item.what());
        }
        System.out.printf(Locale.ROOT, "  %-22s %12s  (the static items plus the larger of the step's two peaks)%n", "total",
                MemoryPlan.gib(budget.plan().totalBytes()));
        System.out.printf(Locale.ROOT, "  %-22s %12s  %s: %s, %.0f%% free at the peak%n", "device",
                MemoryPlan.gib(budget.deviceBytes()), budget.device(), budget.fits() ? "fits" : "does not fit",
                100 * budget.headroom());
    }

    private void printJson(TrainMemory.Budget budget, TrainConfig cfg) throws Exception {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("parameters", budget.model().parameterCount()).put("micro_batch", cfg.batch().microBatch())
                .put("seq_len", cfg.data().seqLen()).put("world", world);
        ObjectNode items = root.putObject("items");
        for (MemoryPlan.Item item : budget.plan().items()) {
            items.put(item.name(), item.bytes());
        }
        root.put("total_bytes_per_device", budget.plan().totalBytes()).put("device_bytes", budget.deviceBytes())
                .put("device", budget.device()).put("fits", budget.fits());
        System.out.println(mapper.writeValueAsString(root));
    }
}
