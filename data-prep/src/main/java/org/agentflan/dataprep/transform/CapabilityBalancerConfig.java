package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.Validatable;
import org.agentflan.dataprep.model.Capability;

/**
 * Per-capability keep ratios (Agent-FLAN idea 2). Defaults: {@code capability-balancer-defaults.yaml}, the paper's
 * 1 : 0.25 : 0.75 for reasoning : retrieval : understanding; instruction following and chat are left whole (1.0):
 * the paper's ratio covers its three decomposed subsets only, and the ReAct share and the chat mix have their own knobs.
 * {@code sources} limits the rebalancing to sources not rebalanced already (the Agent-FLAN release files are).
 */
public record CapabilityBalancerConfig(boolean enabled, double reasoning, double retrieval, double understanding,
                                       double instructionFollowing, double chat, List<String> sources)
        implements Serializable, Validatable {

    public static final String DEFAULTS = "capability-balancer-defaults.yaml";

    public CapabilityBalancerConfig {
        sources = sources == null ? List.of() : List.copyOf(sources);
    }

    /** Whether conversations of {@code source} are rebalanced: every source when {@code sources} is empty. */
    public boolean appliesTo(String source) {
        return sources.isEmpty() || sources.contains(source);
    }

    /** The keep ratio of a capability tag; untagged turns are always kept. */
    public double ratio(String capability) {
        if (capability == null) {
            return 1.0;
        }
        return switch (Capability.of(capability)) {
            case REASONING -> reasoning;
            case RETRIEVAL -> retrieval;
            case UNDERSTANDING -> understanding;
            case INSTRUCTION_FOLLOWING -> instructionFollowing;
            case CHAT -> chat;
        };
    }

    @Override
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        double[] values = {reasoning, retrieval, understanding, instructionFollowing, chat};
        String[] keys = {"reasoning", "retrieval", "understanding", "instruction_following", "chat"};
        for (int i = 0; i < values.length; i++) {
            if (!(values[i] >= 0 && values[i] <= 1)) {
                problems.add("capability_balance." + keys[i] + " must be a keep ratio in [0, 1], got " + values[i]);
            }
        }
        return problems;
    }
}
