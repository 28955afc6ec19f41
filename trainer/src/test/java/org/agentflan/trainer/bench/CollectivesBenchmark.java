package org.agentflan.trainer.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import org.agentflan.trainer.distributed.CollectiveOptions;
import org.agentflan.trainer.distributed.Collectives;
import org.agentflan.trainer.distributed.TcpStore;

/**
 * Benchmark (not a test), run by scripts/bench-collectives.sh against scripts/bench/gloo_allreduce.cc: one rank of an
 * all-reduce of float32 DJL tensors through agentflan's Java path ({@code Collectives.allReduce(NDArray)}: zero-copy
 * view, call guard, JNI, Gloo's allreduce), timed call by call exactly like the C++ reference (3 warm-up calls, then
 * {@link #iterations}). Rank 0 prints one JSON line per size.
 * Args: {@code <rank> <world> <port> <bytes>...}.
 */
public final class CollectivesBenchmark {
    private CollectivesBenchmark() {}

    /** The same rule as gloo_allreduce.cc: about 256 MiB moved per size, between 5 and 200 calls. */
    static int iterations(long bytes) {
        return (int) Math.max(5, Math.min(200, (256L << 20) / bytes));
    }

    public static void main(String[] args) {
        int rank = Integer.parseInt(args[0]);
        int world = Integer.parseInt(args[1]);
        Duration timeout = Duration.ofSeconds(60);
        try (TcpStore store = TcpStore.open("127.0.0.1", Integer.parseInt(args[2]), rank, timeout);
             Collectives c = Collectives.open(Collectives.Backend.GLOO, store, rank, world, "bench", CollectiveOptions.loopback(timeout));
             NDManager manager = NDManager.newBaseManager()) {
            for (int a = 3; a < args.length; a++) {
                long bytes = Long.parseLong(args[a]);
                NDArray data = manager.zeros(new Shape(bytes / 4)); // zeros: sums stay finite, no denormals
                int n = iterations(bytes);
                double[] micros = new double[n];
                for (int i = 0; i < 3 + n; i++) {
                    long start = System.nanoTime();
                    c.allReduce(data);
                    long end = System.nanoTime();
                    if (i >= 3) {
                        micros[i - 3] = (end - start) / 1e3;
                    }
                }
                c.barrier();
                data.close();
                Arrays.sort(micros);
                if (rank == 0) {
                    System.out.printf(Locale.ROOT, "{\"bytes\": %d, \"iterations\": %d, \"median_us\": %.1f, \"min_us\": %.1f}%n",
                            bytes, n, micros[n / 2], micros[0]);
                    System.out.flush();
                }
            }
        }
        System.exit(0);
    }
}
