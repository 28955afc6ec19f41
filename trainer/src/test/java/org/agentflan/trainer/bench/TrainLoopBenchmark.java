package org.agentflan.trainer.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.trainer.Train;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardWriter;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.optim.AdamW;

/**
 * Benchmark (not a test), run by scripts/bench-train.sh: (1) tokens/s of the training loop on synthetic packed data
 * shaped like scripts/bench/train_loop_torch.py's, for the tiny recipe and for the 25M model of the model step
 * benchmark; (2) checkpoint save and load throughput (model/ in HF layout plus optimizer state) against a plain
 * FileChannel write/read of the same number of bytes. Prints JSON lines.
 * Args: {@code <work-dir> <steps> <threads> [all|tiny|25m|checkpoint]}.
 */
public final class TrainLoopBenchmark {
    private TrainLoopBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        String what = args.length > 3 ? args[3] : "all";
        Files.createDirectories(work);
        if (what.equals("all") || what.equals("tiny")) {
            loop(work, "tiny", steps, threads);
        }
        if (what.equals("all") || what.equals("25m")) {
            loop(work, "25m", steps, threads);
        }
        if (what.equals("all") || what.equals("checkpoint")) {
            checkpointIo(work);
        }
        System.exit(0);
    }

    /** The model step benchmark's Llama (ModelStepBenchmark, scripts/bench/model_step.py): 25.7M parameters. */
    static final LlamaConfig MODEL_25M = new LlamaConfig(1024, 512, 1376, 8, 8, 8, 1e-5, 10000.0, 512, false, 1, 2,
            "float32", List.of("LlamaForCausalLM"), "llama", "silu");

    /**
     * Trains {@code steps} steps of the tiny recipe ({@code configs/train/tiny.yaml}: rows of 256 tokens) or of the
     * 25M model (rows of 512 tokens, started from an HF folder written here) on synthetic samples of 32-300 tokens,
     * micro-batch 4, and prints the median tokens/s of steps 4 and later two ways: over the whole loop iteration (the
     * time between consecutive metrics lines: data, step, metrics) and over the step alone ({@code step_s}).
     */
    private static void loop(Path work, String model, int steps, int threads) throws Exception {
        boolean tiny = model.equals("tiny");
        int vocab = tiny ? LlamaConfig.tiny().vocabSize() : MODEL_25M.vocabSize();
        Random random = new Random(1);
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            int n = 32 + random.nextInt(269); // 32..300 tokens, like the PyTorch baseline
            int[] ids = new int[n];
            int[] mask = new int[n];
            for (int t = 0; t < n; t++) {
                ids[t] = 3 + random.nextInt(vocab - 3);
                mask[t] = t >= n / 3 ? 1 : 0;
            }
            samples.add(new Sample("b" + i, null, ids, mask, mask.clone())); // loss tokens labelled reasoning (1)
        }
        // The 25M model starts from an HF folder, which must carry a tokenizer that the data's manifest names.
        Path tokenizer = Path.of("sample-data/llama2-tokenizer");
        Path data = work.resolve("data-" + model);
        if (!Files.exists(data.resolve("manifest.json"))) {
            ShardWriter.writeDataDir(data, samples, Llama2Tokenizer.sha256(tokenizer.resolve("tokenizer.json")));
        }
        List<String> overrides = new ArrayList<>(List.of("data.dirs=[" + data + "]", "threads=" + threads,
                "model.tokenizer_dir=" + tokenizer, "data.holdout_fraction=0", "eval.every=0", "checkpoint.every=0",
                "max_steps=" + steps, "log.every=1000"));
        if (!tiny) {
            Path hf = work.resolve("model-25m");
            if (!Files.exists(hf.resolve("config.json"))) {
                try (NDManager manager = NDManager.newBaseManager(); LlamaModel m = LlamaModel.create(MODEL_25M, manager, 0)) {
                    HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, hf, MODEL_25M, m.parameters(), 5_000_000_000L,
                            DataType.FLOAT32, tokenizer);
                }
            }
            overrides.addAll(List.of("model.init=hf", "model.hf_dir=" + hf, "data.seq_len=512"));
        }
        Path run = work.resolve("run-" + System.nanoTime());
        Train.run(new Train.Options(Path.of("configs/train/tiny.yaml"), overrides, run, null, "none", null),
                new PrintStream(OutputStream.nullOutputStream()));
        List<Double> loopRates = new ArrayList<>();
        List<Double> stepRates = new ArrayList<>();
        double previousElapsed = Double.NaN;
        for (JsonNode line : MetricsLog.read(run.resolve("metrics.jsonl"))) {
            if (!"train".equals(line.get("type").asText())) {
                continue;
            }
            double elapsed = line.get("elapsed_s").asDouble();
            if (line.get("step").asLong() > 3) {
                double tokens = line.get("tokens_per_s").asDouble() * line.get("step_s").asDouble();
                loopRates.add(tokens / (elapsed - previousElapsed));
                stepRates.add(line.get("tokens_per_s").asDouble());
            }
            previousElapsed = elapsed;
        }
        System.out.printf(Locale.ROOT, "{\"impl\": \"agentflan-djl\", \"model\": \"%s\", \"threads\": %d, "
                        + "\"median_tokens_per_s\": %.1f, \"median_step_tokens_per_s\": %.1f}%n",
                model, threads, median(loopRates), median(stepRates));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }

    /** A mid-size Llama (about 45M parameters) so file sizes dominate fixed costs. */
    private static void checkpointIo(Path work) throws Exception {
        LlamaConfig arch = new LlamaConfig(32000, 512, 1376, 4, 8, 8, 1e-5, 10000.0, 512, false, 1, 2, "float32",
                List.of("LlamaForCausalLM"), "llama", "silu");
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaModel model = LlamaModel.create(arch, manager, 0);
            AdamW adamw = new AdamW(new AdamW.Settings(0.9, 0.95, 1e-8, 0), model.parameters(), manager);
            Path dir = work.resolve("ckpt");
            long t0 = System.nanoTime();
            // 5 GB shards, HF's default and the recipe's (train-defaults.yaml)
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, dir.resolve("model"), arch, model.parameters(), 5_000_000_000L,
                    DataType.FLOAT32, null);
            OptimizerState.write(AtomicFileWriter.UNOBSERVED, dir, adamw);
            double save = (System.nanoTime() - t0) / 1e9;
            long bytes = sizeOf(dir);
            t0 = System.nanoTime();
            try (NDManager scope = manager.newSubManager()) {
                LlamaModel loaded = HfCheckpoint.loadModel(dir.resolve("model"), scope);
                OptimizerState.restore(dir, new AdamW.Settings(0.9, 0.95, 1e-8, 0), loaded.parameters(), scope);
            }
            double load = (System.nanoTime() - t0) / 1e9;
            Path plain = work.resolve("plain.bin");
            t0 = System.nanoTime();
            ByteBuffer chunk = ByteBuffer.allocateDirect(8 << 20);
            try (FileChannel ch = FileChannel.open(plain, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                for (long done = 0; done < bytes; ) {
                    chunk.clear();
                    chunk.limit((int) Math.min(chunk.capacity(), bytes - done));
                    done += ch.write(chunk);
                }
                ch.force(true);
            }
            double plainWrite = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            try (FileChannel ch = FileChannel.open(plain, StandardOpenOption.READ)) {
                chunk.clear();
                while (ch.read(chunk) > 0) {
                    chunk.clear();
                }
            }
            double plainRead = (System.nanoTime() - t0) / 1e9;
            double plainReadFresh = plainReadIntoNewArrays(plain, bytes, manager);
            double mb = bytes / 1e6;
            System.out.printf(Locale.ROOT, "{\"checkpoint_mb\": %.1f, \"save_mb_s\": %.1f, \"plain_write_mb_s\": %.1f, "
                            + "\"load_mb_s\": %.1f, \"plain_read_mb_s\": %.1f, \"plain_read_new_memory_mb_s\": %.1f}%n",
                    mb, mb / save, mb / plainWrite, mb / load, mb / plainRead, mb / plainReadFresh);
            for (NDArray p : model.parameters().values()) {
                p.close();
            }
        }
    }

    /**
     * Seconds to read {@code bytes} of {@code file} into new native arrays of 64 MiB, as a load must (the floor of any
     * one-copy load: the kernel's copy plus the first touch of fresh memory), the arrays freed afterwards.
     */
    private static double plainReadIntoNewArrays(Path file, long bytes, NDManager manager) throws Exception {
        long t0 = System.nanoTime();
        try (NDManager scope = manager.newSubManager();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (long done = 0; done < bytes; ) {
                long n = Math.min(64L << 20, bytes - done);
                ByteBuffer into = scope.create(new Shape(n), DataType.INT8).toByteBuffer(true);
                while (into.hasRemaining()) {
                    if (ch.read(into, done + into.position()) < 0) {
                        throw new IllegalStateException(file + " ended early");
                    }
                }
                done += n;
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static long sizeOf(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
