package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.List;

/**
 * Capability tagging. Defaults: {@code capability-tagger-defaults.yaml}.
 *
 * @param chatSources sources whose assistant turns are general chat whatever they look like (e.g. ShareGPT)
 */
public record CapabilityTaggerConfig(List<String> chatSources) implements Serializable {

    public static final String DEFAULTS = "capability-tagger-defaults.yaml";

    public CapabilityTaggerConfig {
        chatSources = chatSources == null ? List.of() : List.copyOf(chatSources);
    }
}
