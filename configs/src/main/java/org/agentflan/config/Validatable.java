package org.agentflan.config;

import java.util.List;

/** A config record that can check its own values; every problem is reported at once. */
public interface Validatable {
    /** Human-readable problems, each naming its key (e.g. "optimizer.lr must be > 0, got -1"); empty if valid. */
    List<String> problems();
}
