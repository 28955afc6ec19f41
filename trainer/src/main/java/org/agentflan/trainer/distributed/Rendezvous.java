package org.agentflan.trainer.distributed;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Every rank announces itself in the store and waits for the others before any collective exists: a rank started
 * twice (or a file store left over from an earlier launch), a different world size or a different config makes every
 * rank refuse to start, with a message naming both ranks' values.
 */
public final class Rendezvous {
    static final String PREFIX = "agentflan/";

    private Rendezvous() {}

    /**
     * Joins as {@code rank} of {@code worldSize} with the hash of this rank's resolved config; returns once all ranks
     * have joined with the same world size and hash, or fails within {@code timeout} naming the missing ranks.
     */
    public static void join(KeyValueStore store, int rank, int worldSize, String configHash, Duration timeout) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new DistributedException("rank " + rank + " is outside world size " + worldSize + " (RANK must be 0.." + (worldSize - 1) + ")");
        }
        if (configHash == null || configHash.isBlank() || configHash.contains(" ")) {
            throw new IllegalArgumentException("config hash must be a non-blank word, got '" + configHash + "'");
        }
        long arrivals = store.add(PREFIX + "rank/" + rank + "/joined", 1);
        if (arrivals != 1) {
            throw new DistributedException("rank " + rank + " joined the " + store.describe() + " " + arrivals
                    + " times: two processes were started as rank " + rank + ", or the store holds keys of an earlier launch"
                    + " (give each launch a fresh file store folder or MASTER_PORT)");
        }
        store.set(configKey(rank), (worldSize + " " + configHash).getBytes(StandardCharsets.UTF_8));

        List<String> keys = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            keys.add(configKey(r));
        }
        List<String> missing = store.missing(keys, timeout);
        if (!missing.isEmpty()) {
            List<Integer> ranks = missing.stream().map(k -> keys.indexOf(k)).toList();
            throw new DistributedException(String.format("rank %d: rank%s %s did not join the %s within %.1f s"
                            + " (not started, failed at start, or pointed at another store)",
                    rank, ranks.size() == 1 ? "" : "s", join(ranks), store.describe(), timeout.toMillis() / 1e3));
        }
        for (int r = 0; r < worldSize; r++) {
            String[] theirs = new String(store.get(configKey(r), timeout), StandardCharsets.UTF_8).split(" ", 2);
            if (Integer.parseInt(theirs[0]) != worldSize) {
                throw new DistributedException("ranks disagree on the world size: rank " + r + " was started with WORLD_SIZE="
                        + theirs[0] + ", rank " + rank + " (this rank) with " + worldSize);
            }
            if (!theirs[1].equals(configHash)) {
                throw new DistributedException("ranks were started with different configs: rank " + r + " has config hash "
                        + theirs[1] + ", rank " + rank + " (this rank) has " + configHash + "; start every rank with the same config");
            }
        }
    }

    private static String configKey(int rank) {
        return PREFIX + "rank/" + rank + "/config";
    }

    static String join(List<Integer> ranks) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < ranks.size(); i++) {
            s.append(i == 0 ? "" : ", ").append(ranks.get(i));
        }
        return s.toString();
    }
}
