package org.agentflan.config;

import java.util.List;

/** A config that cannot be used; the message names every offending key and the file it came from. */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;

    public ConfigException(String source, List<String> problems) {
        super("invalid config " + source + ":\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
