package org.agentflan.dataprep.transform;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.Validatable;

/**
 * Kind-(b) negatives: tools are offered, the user only chats, the answer makes no call. Defaults:
 * {@code negative-sampler-defaults.yaml}.
 *
 * @param count        how many to build (used when {@code ratio} is 0)
 * @param ratio        if > 0, build round(ratio x the number of tool-source conversations) instead of {@code count}
 * @param source       the source name the negatives carry (mixing weight, manifest counts)
 * @param toolSources  sources whose system prompts supply real tool lists (ToolBench)
 * @param chatSources  sources that supply the general chat (ShareGPT)
 * @param systemPrompt the system turn's text before the tool list
 * @param fileSources  sources whose conversations are negatives already (kind (a) from a file): with the built ones
 *                     they are marked negative beside the shards, for {@code agentflan eval}'s hallucination probe
 */
public record NegativeSamplerConfig(boolean enabled, int count, double ratio, String source, List<String> toolSources,
                                    List<String> chatSources, String systemPrompt, List<String> fileSources)
        implements Serializable, Validatable {

    public static final String DEFAULTS = "negative-sampler-defaults.yaml";

    public NegativeSamplerConfig {
        toolSources = toolSources == null ? List.of() : List.copyOf(toolSources);
        chatSources = chatSources == null ? List.of() : List.copyOf(chatSources);
        fileSources = fileSources == null ? List.of() : List.copyOf(fileSources);
    }

    /** The sources whose conversations are negative samples: the built ones' (when enabled) and the file sources. */
    public List<String> negativeSources() {
        List<String> all = new ArrayList<>(fileSources);
        if (enabled) {
            all.add(source);
        }
        return all;
    }

    @Override
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (count < 0) {
            problems.add("negatives.count must be >= 0, got " + count);
        }
        if (!(ratio >= 0) || Double.isInfinite(ratio)) {
            problems.add("negatives.ratio must be a finite number >= 0, got " + ratio);
        }
        if (enabled && toolSources.isEmpty()) {
            problems.add("negatives.tool_sources must name at least one source with tool lists (e.g. [toolbench])");
        }
        if (enabled && chatSources.isEmpty()) {
            problems.add("negatives.chat_sources must name at least one chat source (e.g. [sharegpt])");
        }
        if (source == null || source.isBlank()) {
            problems.add("negatives.source must name the negatives' source");
        }
        return problems;
    }
}
