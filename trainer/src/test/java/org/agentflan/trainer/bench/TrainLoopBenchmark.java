package org.agentflan.trainer.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
 * Benchmark (not a test), run by scripts/bench-train.sh: (1) tokens/s of the tiny recipe's loop on synthetic packed
 * data shaped like scripts/bench/train_loop_torch.py's; (2) checkpoint save and load throughput (model/ in HF layout
 * plus optimizer state) against a plain FileChannel write/read of the same number of bytes. Prints JSON lines.
 * Args: {@code <work-dir> <steps> <threads>}.
 */
public final class TrainLoopBenchmark {
    private TrainLoopBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        Files.createDirectories(work);
        loop(work, steps, threads);
        checkpointIo(work);
        System.exit(0);
    }

    private static void loop(Path work, int steps, int threads) throws Exception {
        Random random = new Random(1);
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            int n = 32 + random.nextInt(269); // 32..300 tokens, like the PyTorch baseline
            int[] ids = new int[n];
            int[] mask = new int[n];
            for (int t = 0; t < n; t++) {
                ids[t] = 3 + random.nextInt(31997);
                mask[t] = t >= n / 3 ? 1 : 0;
            }
            samples.add(new Sample("b" + i, null, ids, mask, mask.clone())); // loss tokens labelled reasoning (1)
        }
        Path data = work.resolve("data");
        if (!Files.exists(data.resolve("manifest.json"))) {
            ShardWriter.writeDataDir(data, samples);
        }
        Path run = work.resolve("run-" + System.nanoTime());
        Train.run(new Train.Options(Path.of("configs/train/tiny.yaml"), List.of("data.dirs=[" + data + "]",
                "threads=" + threads, "data.holdout_fraction=0", "eval.every=0", "checkpoint.every=0",
                "max_steps=" + steps), run, null, "none", null), new PrintStream(OutputStream.nullOutputStream()));
        List<Double> rates = new ArrayList<>();
        for (JsonNode line : MetricsLog.read(run.resolve("metrics.jsonl"))) {
            if (line.get("step").asLong() > 3 && "train".equals(line.get("type").asText())) {
                rates.add(line.get("tokens_per_s").asDouble());
            }
        }
        rates.sort(null);
        System.out.printf(Locale.ROOT, "{\"impl\": \"agentflan-djl\", \"threads\": %d, \"median_tokens_per_s\": %.1f}%n",
                threads, rates.get(rates.size() / 2));
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
            double mb = bytes / 1e6;
            System.out.printf(Locale.ROOT, "{\"checkpoint_mb\": %.1f, \"save_mb_s\": %.1f, \"plain_write_mb_s\": %.1f, "
                            + "\"load_mb_s\": %.1f, \"plain_read_mb_s\": %.1f}%n",
                    mb, mb / save, mb / plainWrite, mb / load, mb / plainRead);
            for (NDArray p : model.parameters().values()) {
                p.close();
            }
        }
    }

    private static long sizeOf(Path dir) throws Exception {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
