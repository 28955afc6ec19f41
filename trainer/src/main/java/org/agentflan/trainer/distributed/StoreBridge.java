package org.agentflan.trainer.distributed;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The store as the Gloo shim sees it: its C++ {@code gloo::rendezvous::Store} subclass calls these three methods
 * back through JNI while Gloo connects its pairs. Keys get a prefix so Gloo's ("0", "rank_1") cannot clash with
 * agentflan's; exceptions thrown here unwind through the shim and reach the Java caller unchanged.
 */
final class StoreBridge {
    private final KeyValueStore store;
    private final String prefix;
    private final Duration timeout;

    StoreBridge(KeyValueStore store, String prefix, Duration timeout) {
        this.store = store;
        this.prefix = prefix;
        this.timeout = timeout;
    }

    void set(String key, byte[] value) {
        store.set(prefix + key, value);
    }

    byte[] get(String key) {
        return store.get(prefix + key, timeout);
    }

    void await(String[] keys, long timeoutMs) {
        List<String> full = Arrays.stream(keys).map(k -> prefix + k).toList();
        List<String> missing = store.missing(full, Duration.ofMillis(timeoutMs));
        if (!missing.isEmpty()) {
            throw new DistributedException(String.format("keys %s did not appear in the %s within %.1f s (a rank failed while connecting?)",
                    missing, store.describe(), timeoutMs / 1e3));
        }
    }
}
