package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.Validatable;

/**
 * Format alignment (Agent-FLAN idea 1). Defaults: {@code format-alignment-defaults.yaml}.
 *
 * @param enabled     rewrite ReAct trajectories as multi-turn chat
 * @param reactShare  share of ReAct conversations kept in ReAct form, chosen by hash(seed, id)
 * @param sources     only conversations of these sources are rewritten; empty means every source
 */
public record FormatAlignmentConfig(boolean enabled, double reactShare, List<String> sources)
        implements Serializable, Validatable {

    public static final String DEFAULTS = "format-alignment-defaults.yaml";

    public FormatAlignmentConfig {
        sources = sources == null ? List.of() : List.copyOf(sources);
    }

    @Override
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (!(reactShare >= 0 && reactShare <= 1)) {
            problems.add("format_alignment.react_share must be in [0, 1], got " + reactShare);
        }
        return problems;
    }
}
