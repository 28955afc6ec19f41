package org.agentflan.config;

import java.util.List;

/**
 * A config record that checks its own values (ranges, keys that depend on each other); every problem is reported at
 * once. The loader has already checked each value's kind (number, enum, list...), so only meaning is checked here.
 */
public interface Validatable {
    /**
     * Human-readable problems, empty if valid. Each starts with the dotted key it is about
     * ({@code "optimizer.lr must be > 0, got -1"}, {@code "sources[0]: ..."}): the loader puts the file line or the
     * {@code --set} that gave that key in front of it.
     */
    List<String> problems();
}
