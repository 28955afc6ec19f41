package org.agentflan.trainer.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.agentflan.trainer.Train;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardWriter;
import org.agentflan.trainer.metrics.MetricsLog;

/**
 * Benchmark (not a test), run by scripts/bench-ddp.sh: one rank of a data-parallel run of the tiny Llama (4.2M
 * parameters, 16.7 MB of fp32 gradients) on synthetic packed rows of 256 tokens, 4 rows per micro-batch. The rank
 * comes from torchrun's variables, which the script sets for 2 ranks, or none for the 1-rank baseline. Rank 0 prints
 * one JSON line from its metrics: medians over the steps after the first 3 of the step time, the time in collectives
 * ({@code comm_s}: the gradient bucket, the loss sum and the stop flag, including any wait for the slower rank) and
 * their ratio, and tokens/s. Args: {@code <work-dir> <steps> <grad_accum> <threads>}.
 */
public final class DataParallelBenchmark {
    private DataParallelBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Path.of(args[0]);
        int steps = Integer.parseInt(args[1]);
        int gradAccum = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        Path data = work.resolve("data");
        int rank = Integer.parseInt(System.getenv().getOrDefault("RANK", "0"));
        int ranks = Integer.parseInt(System.getenv().getOrDefault("WORLD_SIZE", "1"));
        if (rank == 0 && !Files.exists(data.resolve("manifest.json"))) {
            ShardWriter.writeDataDir(data, samples());
        }
        while (!Files.exists(data.resolve("shards/part-00001.parquet"))) {
            Thread.sleep(100); // rank 1 waits for rank 0's data (the rendezvous would wait anyway)
        }
        Path run = work.resolve("run-" + ranks + "-ranks");
        Train.run(new Train.Options(null, List.of("model.init=tiny", "data.dirs=[" + data + "]", "threads=" + threads,
                "data.seq_len=256", "batch.micro_batch=4", "batch.grad_accum=" + gradAccum, "optimizer.lr=3e-3",
                "schedule.warmup_steps=4", "eval.every=0", "checkpoint.every=0", "log.every=1000", "max_steps=" + steps),
                run, null, "none", null), new PrintStream(OutputStream.nullOutputStream()));
        if (rank == 0) {
            List<Double> step = new ArrayList<>();
            List<Double> comm = new ArrayList<>();
            List<Double> share = new ArrayList<>();
            List<Double> rate = new ArrayList<>();
            for (JsonNode line : MetricsLog.read(run.resolve("metrics.jsonl"))) {
                if (line.get("step").asLong() > 3 && "train".equals(line.get("type").asText())) {
                    step.add(line.get("step_s").asDouble());
                    comm.add(line.get("comm_s").asDouble());
                    share.add(line.get("comm_s").asDouble() / line.get("step_s").asDouble());
                    rate.add(line.get("tokens_per_s").asDouble());
                }
            }
            System.out.printf(Locale.ROOT, "{\"ranks\": %d, \"grad_accum\": %d, \"threads\": %d, \"steps\": %d, \"median_step_s\": %.4f,"
                            + " \"median_comm_s\": %.4f, \"median_comm_share\": %.4f, \"median_tokens_per_s\": %.1f}%n",
                    ranks, gradAccum, threads, step.size(), median(step), median(comm), median(share), median(rate));
        }
        System.exit(0);
    }

    /** 2000 samples of 32 to 300 tokens, the last two thirds of each trained on (as TrainLoopBenchmark's). */
    private static List<Sample> samples() {
        Random random = new Random(1);
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            int n = 32 + random.nextInt(269);
            int[] ids = new int[n];
            int[] mask = new int[n];
            for (int t = 0; t < n; t++) {
                ids[t] = 3 + random.nextInt(31997);
                mask[t] = t >= n / 3 ? 1 : 0;
            }
            samples.add(new Sample("b" + i, null, ids, mask, mask.clone())); // loss tokens labelled reasoning (1)
        }
        return samples;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        return sorted.get(sorted.size() / 2);
    }
}
