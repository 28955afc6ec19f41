package org.agentflan.trainer.distributed;

import java.time.Duration;
import java.util.List;

/**
 * The key-value store ranks bootstrap through (torch's c10d Store, reduced to what agentflan uses): Gloo's pair
 * addresses, NCCL's unique id, every rank's config hash and its heartbeat travel through it. Implementations:
 * {@link TcpStore} (served by rank 0, as torchrun's) and {@link FileStore} (a folder on a shared file system).
 * Every method is thread-safe and bounded: nothing blocks past its timeout.
 */
public interface KeyValueStore extends AutoCloseable {
    /** Sets (or overwrites) {@code key}. */
    void set(String key, byte[] value);

    /** The value of {@code key}, waiting up to {@code timeout} for a rank to set it; fails naming the key. */
    byte[] get(String key, Duration timeout);

    /** Waits until all {@code keys} exist or {@code timeout} passes; returns the keys still missing (empty: all there). */
    List<String> missing(List<String> keys, Duration timeout);

    /** Atomically adds {@code delta} to the decimal counter at {@code key} (absent counts as 0); returns the new value. */
    long add(String key, long delta);

    /** Where the store is, for messages: "TCP store at 10.0.0.1:29500 (served by rank 0)", "file store /shared/run". */
    String describe();

    @Override
    void close();
}
