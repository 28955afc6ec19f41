package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.memory.MemoryPlan;
import org.agentflan.trainer.distributed.RankAssignment;
import org.agentflan.trainer.model.ActivationOptions;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.LossScaler;

/**
 * Measures, in a process of its own, the peak memory of training steps: the production {@link OptimizerStep} (forward,
 * loss, backward, clipping, AdamW) on a random-init Llama and a synthetic batch of full-length rows. Run by
 * {@code MemoryPlanMeasuredTest} and {@code scripts/bench-memory.sh} in a child JVM per configuration.
 *
 * <p>What is measured: the peak resident set ({@code VmHWM}) minus the resident set just before the model is made,
 * after the engine is loaded and has run an op. The peak is reset ({@code /proc/self/clear_refs}) at that point, so it
 * counts only the run. Run it with {@code MALLOC_MMAP_THRESHOLD_=65536}: glibc otherwise raises its mmap threshold as
 * large blocks are freed and keeps later freed tensors in its heap, so the resident set would measure glibc's retention
 * rather than the tensors alive. A fixed Java heap ({@code -Xms} = {@code -Xmx}, {@code -XX:+AlwaysPreTouch}) is
 * resident before the baseline, so the JVM's growth does not count either.
 *
 * <p>Each argument is one configuration, {@code key=value,key=value...} ({@link Spec}); the configurations are measured
 * one after the other in this process, the peak reset before each. Prints one JSON line per configuration, with the
 * plan's total for it ({@link MemoryPlan}).
 */
public final class PeakMemoryProbe {
    private PeakMemoryProbe() {
    }

    /** One configuration: a Llama, a batch, activation options and the compute dtype. */
    record Spec(LlamaConfig config, int batch, int seq, int steps, int chunk, ActivationOptions activations,
                DataType computeType) {
        private static final Map<String, String> DEFAULTS = Map.ofEntries(Map.entry("hidden", "512"),
                Map.entry("intermediate", "1376"), Map.entry("layers", "8"), Map.entry("heads", "8"),
                Map.entry("kv_heads", "8"), Map.entry("vocab", "1024"), Map.entry("seq", "512"), Map.entry("batch", "2"),
                Map.entry("steps", "3"), Map.entry("chunk", "1024"), Map.entry("recompute", "0"), Map.entry("block", "0"),
                Map.entry("dtype", "float32"));

        /** {@code key=value,key=value...}, keys as in {@link #DEFAULTS}. */
        static Spec parse(String text) {
            Map<String, String> opt = new LinkedHashMap<>(DEFAULTS);
            for (String arg : text.split(",")) {
                String[] kv = arg.split("=", 2);
                if (kv.length != 2 || !opt.containsKey(kv[0])) {
                    throw new IllegalArgumentException("unknown setting '" + arg + "'; expected key=value with key in " + opt.keySet());
                }
                opt.put(kv[0], kv[1]);
            }
            int seq = Integer.parseInt(opt.get("seq"));
            LlamaConfig config = new LlamaConfig(Integer.parseInt(opt.get("vocab")), Integer.parseInt(opt.get("hidden")),
                    Integer.parseInt(opt.get("intermediate")), Integer.parseInt(opt.get("layers")),
                    Integer.parseInt(opt.get("heads")), Integer.parseInt(opt.get("kv_heads")), 1e-5, 10000.0, seq, false,
                    1, 2, null, null, null, null);
            return new Spec(config, Integer.parseInt(opt.get("batch")), seq, Integer.parseInt(opt.get("steps")),
                    Integer.parseInt(opt.get("chunk")), new ActivationOptions(opt.get("recompute").equals("1"),
                    Integer.parseInt(opt.get("block"))),
                    TrainConfig.Dtype.valueOf(opt.get("dtype").toUpperCase(Locale.ROOT)).dataType());
        }

        /** This configuration's options and dtype on a model and batch too small to matter. */
        Spec tiny() {
            LlamaConfig small = new LlamaConfig(64, 32, 64, 1, 2, 2, 1e-5, 10000.0, 32, false, 1, 2, null, null, null, null);
            return new Spec(small, 1, 32, 2, chunk, new ActivationOptions(activations.recompute(),
                    Math.min(activations.attentionBlock(), 8)), computeType);
        }

        MemoryPlan plan() {
            return MemoryPlan.of(config, new MemoryPlan.Shape(batch, seq, computeType.getNumOfBytes(), activations,
                    chunk, 1, 0));
        }
    }

    /** Each argument is one {@link Spec}; prints one JSON line per argument, measured one after the other. */
    public static void main(String[] args) throws IOException {
        Engine engine = Engine.getEngine("PyTorch");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (NDManager root = NDManager.newBaseManager(Device.cpu(), "PyTorch");
             DataParallel ranks = DataParallel.join(RankAssignment.single(), Device.cpu(), "probe", Duration.ofSeconds(60), quiet)) {
            // Load the kernels and start autograd's worker threads before the baseline: they belong to the runtime.
            try (NDManager warm = root.newSubManager()) {
                NDArray a = warm.randomNormal(new ai.djl.ndarray.types.Shape(64, 64));
                a.setRequiresGradient(true);
                try (ai.djl.training.GradientCollector collector = engine.newGradientCollector()) {
                    collector.backward(a.matMul(a).softmax(-1).sum());
                }
            }
            for (String arg : args) {
                // The same step on a tiny model first: classes loaded, code compiled, thread pools started, all of
                // which belong to the runtime, not to this configuration's tensors.
                Spec spec = Spec.parse(arg);
                measure(spec.tiny(), engine, root, ranks, false);
                measure(spec, engine, root, ranks, true);
            }
        }
    }

    private static void measure(Spec spec, Engine engine, NDManager root, DataParallel ranks, boolean print)
            throws IOException {
        List<Double> stepMs = new ArrayList<>();
        long baseline = resetPeak();
        try (NDManager manager = root.newSubManager()) {
            LlamaModel model = LlamaModel.create(spec.config(), manager, 0);
            model.setTrainable(true);
            model.setActivationOptions(spec.activations());
            AdamW adamw = new AdamW(new AdamW.Settings(0.9, 0.95, 1e-8, 0.0), model.parameters(), manager);
            GradientReducer reducer = new GradientReducer(ranks, model.parameters(), 25L << 20);
            LossScaler scaler = spec.computeType() == DataType.FLOAT16 ? new LossScaler(65536, 2, 0.5, 2000, 1) : null;
            OptimizerStep step = new OptimizerStep(engine, model, adamw, scaler, spec.computeType(), spec.chunk(), 1.0,
                    manager, ranks, reducer, null);
            MicroBatch micro = batch(spec.batch(), spec.seq(), spec.config().vocabSize());
            GlobalBatch batch = new GlobalBatch(List.of(micro), spec.batch(), micro.tokens(), micro.lossTokens());
            for (int i = 0; i < spec.steps(); i++) {
                long start = System.nanoTime();
                step.take(batch, 1e-4);
                stepMs.add((System.nanoTime() - start) / 1e6);
            }
            model.close();
        }
        if (!print) {
            return;
        }
        long peak = status("VmHWM:");
        // The first step also allocates the gradients; the later ones are the steady state.
        List<Double> timed = new ArrayList<>(stepMs.subList(Math.min(1, stepMs.size() - 1), stepMs.size()));
        Collections.sort(timed);
        System.out.printf(Locale.ROOT, "{\"baseline_rss_bytes\":%d,\"peak_rss_bytes\":%d,\"measured_bytes\":%d,"
                + "\"plan_bytes\":%d,\"median_step_ms\":%.1f,\"min_step_ms\":%.1f}%n", baseline, peak, peak - baseline,
                spec.plan().totalBytes(), timed.get(timed.size() / 2), timed.get(0));
    }

    /** Rows of one full-length sample each, every target a loss token. */
    private static MicroBatch batch(int rows, int seqLen, int vocab) {
        Random random = new Random(1);
        int n = rows * seqLen;
        long[] ids = new long[n];
        long[] targets = new long[n];
        float[] mask = new float[n];
        long[] positions = new long[n];
        int[] segments = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(vocab);
            targets[i] = random.nextInt(vocab);
            mask[i] = 1;
            positions[i] = i % seqLen;
            segments[i] = 1;
        }
        List<List<String>> sources = Collections.nCopies(rows, List.of("probe"));
        return new MicroBatch(rows, seqLen, ids, targets, mask, new int[n], positions, segments, sources, rows, n, n);
    }

    /** Resets the kernel's peak resident set to the current one (Linux 4.0+); returns the current one. */
    private static long resetPeak() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        return status("VmRSS:");
    }

    private static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException(field + " missing from /proc/self/status");
    }
}
