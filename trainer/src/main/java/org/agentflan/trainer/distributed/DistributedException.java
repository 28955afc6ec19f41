package org.agentflan.trainer.distributed;

/**
 * A multi-rank run cannot go on: a peer or the store is unreachable, a collective failed or timed out, or the ranks
 * disagree (config, world size, duplicate rank). The message is one line that names the rank, the peer or address,
 * the operation and how long it waited.
 */
public class DistributedException extends RuntimeException {
    public DistributedException(String message) {
        super(message);
    }

    public DistributedException(String message, Throwable cause) {
        super(message, cause);
    }
}
