package org.agentflan.trainer.distributed;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Names the lost rank when a collective fails. Neither Gloo's nor NCCL's errors say which rank is gone (Gloo names a
 * socket address, NCCL an error code), so each rank writes a heartbeat counter to the store every second from a daemon
 * thread; after a failure, the ranks whose counter stops moving for {@link #SILENT} are reported as lost. Costs one
 * small store write per rank per second, and the diagnosis adds {@link #SILENT} to the failure path only.
 */
final class PeerLiveness implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofSeconds(1);
    static final Duration SILENT = INTERVAL.multipliedBy(3);
    private static final String CLOSED = "closed";

    private final KeyValueStore store;
    private final int rank;
    private final int worldSize;
    private final Thread beater;
    private volatile boolean running = true;
    private long beats;

    /** Writes the first heartbeat before returning, so that every rank's key exists before any collective runs. */
    PeerLiveness(KeyValueStore store, int rank, int worldSize) {
        this.store = store;
        this.rank = rank;
        this.worldSize = worldSize;
        beat();
        beater = new Thread(this::beatLoop, "agentflan-heartbeat-rank-" + rank);
        beater.setDaemon(true);
        beater.start();
    }

    /** One line for an error message: which ranks are lost, which have closed, or that all are alive. */
    String diagnose() {
        List<String> before;
        List<String> after;
        try {
            before = readAll();
            Thread.sleep(SILENT.toMillis());
            after = readAll();
        } catch (DistributedException e) {
            return "cannot read the other ranks' heartbeats: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while reading the other ranks' heartbeats";
        }
        List<Integer> lost = new ArrayList<>();
        List<Integer> closed = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            if (r == rank) {
                continue;
            }
            if (CLOSED.equals(after.get(r))) {
                closed.add(r);
            } else if (after.get(r).equals(before.get(r))) {
                lost.add(r);
            }
        }
        List<String> parts = new ArrayList<>();
        if (!lost.isEmpty()) {
            parts.add(String.format("rank%s %s %s lost (no heartbeat for %.0f s)", lost.size() == 1 ? "" : "s",
                    Rendezvous.join(lost), lost.size() == 1 ? "is" : "are", SILENT.toMillis() / 1e3));
        }
        if (!closed.isEmpty()) {
            parts.add("rank" + (closed.size() == 1 ? " " : "s ") + Rendezvous.join(closed) + " had already closed its collectives");
        }
        return parts.isEmpty() ? "every rank is alive, so one of them is stuck or called a different collective" : String.join("; ", parts);
    }

    /** Stops beating and marks this rank closed, so that peers that fail later do not call it lost. */
    @Override
    public void close() {
        running = false;
        beater.interrupt();
        try {
            beater.join(INTERVAL.toMillis() * 2);
            store.set(key(rank), CLOSED.getBytes(StandardCharsets.US_ASCII));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (DistributedException e) {
            // the store is gone (rank 0 finished first): nobody is left to read the mark
        }
    }

    private List<String> readAll() {
        List<String> values = new ArrayList<>(worldSize);
        for (int r = 0; r < worldSize; r++) {
            values.add(r == rank ? "" : new String(store.get(key(r), INTERVAL.multipliedBy(2)), StandardCharsets.US_ASCII));
        }
        return values;
    }

    private void beatLoop() {
        while (running) {
            try {
                Thread.sleep(INTERVAL.toMillis());
                if (running) {
                    beat();
                }
            } catch (InterruptedException e) {
                return;
            } catch (DistributedException e) {
                return; // the store is gone; a failing collective will say so through diagnose()
            }
        }
    }

    private synchronized void beat() {
        store.set(key(rank), Long.toString(++beats).getBytes(StandardCharsets.US_ASCII));
    }

    private static String key(int rank) {
        return Rendezvous.PREFIX + "rank/" + rank + "/heartbeat";
    }
}
