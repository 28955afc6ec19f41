package org.agentflan.trainer.distributed;

import java.time.Duration;

/**
 * Which rank this process is in which job, and where the job's key-value store is: what a {@link RankSource} reads
 * from a launcher. The training loop sees only this record, so a new launcher (Slurm, a Spark barrier stage,
 * Kubernetes) is a new {@link RankSource} and nothing else.
 *
 * @param rank this process's rank, 0 to {@code worldSize - 1}; rank 0 serves the store and writes the run's files
 * @param worldSize the number of ranks in the job
 * @param localRank this process's index among the ranks on its machine: the GPU it uses
 * @param storeHost where rank 0 serves the TCP store ({@code MASTER_ADDR}); null for a single process
 * @param storePort the store's port ({@code MASTER_PORT}); 0 for a single process
 * @param source what the assignment came from, for messages ("torchrun's environment (RANK, WORLD_SIZE, ...)")
 */
public record RankAssignment(int rank, int worldSize, int localRank, String storeHost, int storePort, String source) {
    public RankAssignment {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new DistributedException(source + ": rank " + rank + " is outside world size " + worldSize
                    + " (the rank must be 0.." + (worldSize - 1) + ")");
        }
        if (localRank < 0) {
            throw new DistributedException(source + ": local rank must be >= 0, got " + localRank);
        }
        if (worldSize > 1 && (storeHost == null || storeHost.isBlank() || storePort < 1 || storePort > 65535)) {
            throw new DistributedException(source + ": a job of " + worldSize + " ranks needs the store's host and a port"
                    + " 1-65535, got " + storeHost + ":" + storePort);
        }
    }

    /** One process, no store: what {@code train} is without a launcher. */
    public static RankAssignment single() {
        return new RankAssignment(0, 1, 0, null, 0, "a single process (no launcher variables set)");
    }

    public boolean isSingle() {
        return worldSize == 1;
    }

    /** Whether the store is on this machine's loopback, so that Gloo can bind its pairs there too. */
    public boolean isLoopback() {
        return storeHost != null && (storeHost.equals("localhost") || storeHost.startsWith("127.") || storeHost.equals("::1"));
    }

    /** Rank 0 starts serving the store and every rank connects, waiting up to {@code timeout} for it. */
    public KeyValueStore openStore(Duration timeout) {
        if (isSingle()) {
            throw new IllegalStateException("a single process has no store");
        }
        return TcpStore.open(storeHost, storePort, rank, timeout);
    }

    /** For the console: "rank 1 of 2 (local rank 1), store at 127.0.0.1:29500, from torchrun's environment". */
    public String describe() {
        return isSingle() ? "one rank (" + source + ")"
                : "rank " + rank + " of " + worldSize + " (local rank " + localRank + "), store at " + storeHost + ":"
                        + storePort + ", from " + source;
    }
}
