package org.agentflan.trainer.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;

/**
 * Benchmark (not a test): forward + backward time of one training step of a small Llama in DJL, for
 * {@code scripts/bench-model.sh}, which runs the same model in PyTorch eager ({@code scripts/bench/model_step.py})
 * and prints the comparison.
 * Arguments are {@code key=value}: hidden, layers, heads, intermediate, vocab, seq, batch, warmup, steps.
 * Prints one JSON line: {@code {"impl":"djl","median_ms":...,"min_ms":...,"peak_rss_mb":...,"loss":...}}; the
 * minimum is the figure least disturbed by other processes on a shared machine.
 */
public final class ModelStepBenchmark {
    private ModelStepBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, Integer> opt = new HashMap<>(Map.of("hidden", 512, "layers", 8, "heads", 8, "intermediate", 1376,
                "vocab", 1024, "seq", 512, "batch", 4, "warmup", 2, "steps", 5));
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            if (kv.length != 2 || !opt.containsKey(kv[0])) {
                throw new IllegalArgumentException("unknown argument '" + arg + "'; expected key=value with key in " + opt.keySet());
            }
            opt.put(kv[0], Integer.parseInt(kv[1]));
        }
        LlamaConfig config = new LlamaConfig(opt.get("vocab"), opt.get("hidden"), opt.get("intermediate"),
                opt.get("layers"), opt.get("heads"), opt.get("heads"), 1e-5, 10000.0, opt.get("seq"), false,
                1, 2, null, null, null, null);
        int b = opt.get("batch");
        int t = opt.get("seq");
        List<Double> times = new ArrayList<>();
        float loss = 0;
        try (NDManager root = NDManager.newBaseManager(); LlamaModel model = LlamaModel.create(config, root, 0)) {
            model.setTrainable(true);
            for (int step = 0; step < opt.get("warmup") + opt.get("steps"); step++) {
                long start = System.nanoTime();
                try (NDManager batch = root.newSubManager()) {
                    NDArray ids = batch.randomInteger(0, config.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray targets = batch.randomInteger(0, config.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray positions = batch.arange(0, t, 1, DataType.INT64).reshape(1, t).repeat(0, b);
                    NDArray segments = batch.ones(new Shape(b, t), DataType.INT32);
                    NDArray mask = batch.ones(new Shape(b, t), DataType.INT32);
                    NDArray tokens = batch.create((float) b * t);
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray hidden = model.forward(ids, positions, segments, DataType.FLOAT32);
                        NDArray mean = MaskedCrossEntropy.sum(model, hidden, targets, mask, 4096).div(tokens);
                        collector.backward(mean);
                        loss = mean.getFloat();
                    }
                }
                model.zeroGradients();
                double ms = (System.nanoTime() - start) / 1e6;
                if (step >= opt.get("warmup")) {
                    times.add(ms);
                }
            }
        }
        Collections.sort(times);
        System.out.printf(Locale.ROOT,
                "{\"impl\":\"djl\",\"median_ms\":%.1f,\"min_ms\":%.1f,\"peak_rss_mb\":%.0f,\"loss\":%.4f}%n",
                times.get(times.size() / 2), times.get(0), peakRssMb(), loss);
    }

    /** VmHWM (peak resident set) of this process, from /proc. */
    private static double peakRssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }
}
