package org.agentflan.trainer.distributed;

import java.time.Duration;

/**
 * Runs each native collective of one {@link Collectives} and turns an engine failure into one line that names the
 * operation, its sequence number and size, this rank, how long it ran, and which peer is lost ({@link PeerLiveness}).
 * After a failure the engine's connections are unusable (Gloo's pairs and NCCL's communicator both stay broken), so
 * every later call is refused.
 */
final class CallGuard {
    private final String engine;
    private final int rank;
    private final int worldSize;
    private final Duration timeout;
    private final PeerLiveness liveness;
    private long calls;
    private String failed;

    CallGuard(String engine, int rank, int worldSize, Duration timeout, PeerLiveness liveness) {
        this.engine = engine;
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeout = timeout;
        this.liveness = liveness;
    }

    /** The sequence number the next call will have; equal on all ranks as long as they call the same operations. */
    int nextTag() {
        return (int) (calls + 1);
    }

    /** Runs {@code call}; {@code buffer} (null for a barrier) is described only in an error message, off the fast path. */
    synchronized void run(String op, CollectiveBuffer buffer, Runnable call) {
        if (failed != null) {
            throw new DistributedException(op + " refused on rank " + rank + ": " + failed + " failed earlier and left the "
                    + engine + " connections broken; the job must stop");
        }
        long n = ++calls;
        long start = System.nanoTime();
        try {
            call.run();
        } catch (NativeCollectiveException e) {
            double seconds = (System.nanoTime() - start) / 1e9;
            failed = op + " #" + n;
            String peers = liveness.diagnose();
            throw new DistributedException(String.format("%s #%d (%s) failed on rank %d of %d after %.1f s (timeout %.0f s): %s; %s said: %s",
                    op, n, buffer == null ? "no data" : buffer.describe(), rank, worldSize, seconds, timeout.toMillis() / 1e3, peers, engine, e.getMessage()), e);
        }
    }

    /** For calls that cannot be made after a failure (close). */
    boolean failed() {
        return failed != null;
    }
}
