package org.agentflan.trainer.distributed;

import java.time.Duration;

/**
 * How collectives connect and how long any one call may take.
 *
 * @param timeout bound on every collective, on connecting, and on waiting for peers in the store
 * @param glooHostname the name or address other ranks reach this rank's Gloo pairs at; null: this host's name
 * @param glooInterface the network interface to bind Gloo to instead (torch's {@code GLOO_SOCKET_IFNAME}); null: none
 * @param cudaDevice the CUDA device NCCL works on ({@code LOCAL_RANK}); ignored by Gloo
 */
public record CollectiveOptions(Duration timeout, String glooHostname, String glooInterface, int cudaDevice) {
    public CollectiveOptions {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("collective timeout must be positive, got " + timeout);
        }
    }

    /** For a job on one machine: Gloo on the loopback address. */
    public static CollectiveOptions loopback(Duration timeout) {
        return new CollectiveOptions(timeout, "127.0.0.1", null, 0);
    }
}
