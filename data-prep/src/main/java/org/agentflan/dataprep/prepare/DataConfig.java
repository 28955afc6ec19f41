package org.agentflan.dataprep.prepare;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.agentflan.config.ConfigLoader;
import org.agentflan.config.Validatable;
import org.agentflan.dataprep.source.SourceSpec;
import org.agentflan.dataprep.tokenize.MarkersInText;
import org.agentflan.dataprep.tokenize.OverLengthPolicy;
import org.agentflan.dataprep.transform.CapabilityBalancerConfig;
import org.agentflan.dataprep.transform.CapabilityTaggerConfig;
import org.agentflan.dataprep.transform.FormatAlignmentConfig;
import org.agentflan.dataprep.transform.NegativeSamplerConfig;
import org.agentflan.format.ChatTemplate;

/**
 * The data stage's config ({@code prepare --config FILE}); every key, its default and a one-line comment are in
 * {@code data-defaults.yaml} next to this class.
 */
public record DataConfig(List<SourceSpec> sources, String tokenizer, int maxLength, OverLengthPolicy overLength,
                         MarkersInText markersInText, Template template, long seed, String output, int partitions,
                         String sparkMaster,
                         FormatAlignmentConfig formatAlignment, CapabilityTaggerConfig capabilityTagging,
                         CapabilityBalancerConfig capabilityBalance, NegativeSamplerConfig negatives)
        implements Validatable {

    public static final String DEFAULTS = "data-defaults.yaml";

    /** Template choice: only Agent-FLAN's exists; {@code eos} appends {@code </s>} after the last turn. */
    public record Template(String name, boolean eos) {}

    public static DataConfig load(Path file, List<String> overrides) {
        return ConfigLoader.load(DataConfig.class, DEFAULTS, file, overrides);
    }

    @Override
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        if (sources == null || sources.isEmpty()) {
            problems.add("sources must list at least one input (name, path, format, weight)");
        } else {
            Set<String> names = new HashSet<>();
            for (int i = 0; i < sources.size(); i++) {
                SourceSpec s = sources.get(i);
                for (String p : s.problems()) {
                    problems.add("sources[" + i + "]: " + p);
                }
                if (s.name() != null && !names.add(s.name())) {
                    problems.add("sources[" + i + "].name '" + s.name() + "' is used twice; names must be unique");
                }
            }
        }
        if (tokenizer == null || tokenizer.isBlank()) {
            problems.add("tokenizer must name a directory holding tokenizer.json");
        }
        if (maxLength < 8) {
            problems.add("max_length must be >= 8, got " + maxLength);
        }
        if (template == null || !ChatTemplate.NAME.equals(template.name())) {
            problems.add("template.name must be '" + ChatTemplate.NAME + "', got '"
                    + (template == null ? null : template.name()) + "'");
        }
        if (output == null || output.isBlank()) {
            problems.add("output must name the directory to write shards/, conversations/, rejects/ and manifest.json to");
        }
        if (partitions < 0) {
            problems.add("partitions must be >= 0 (0 lets Spark choose), got " + partitions);
        }
        // Nested configs check themselves; the loader only asks the top-level record.
        problems.addAll(formatAlignment.problems());
        problems.addAll(capabilityBalance.problems());
        problems.addAll(negatives.problems());
        // A misspelt source name would otherwise silently align nothing or build no negatives.
        if (sources != null) {
            Set<String> names = new HashSet<>();
            sources.forEach(s -> names.add(s.name()));
            if (formatAlignment.enabled()) {
                requireKnown("format_alignment.sources", formatAlignment.sources(), names, problems);
            }
            if (capabilityBalance.enabled()) {
                requireKnown("capability_balance.sources", capabilityBalance.sources(), names, problems);
            }
            if (negatives.enabled()) {
                requireKnown("negatives.tool_sources", negatives.toolSources(), names, problems);
                requireKnown("negatives.chat_sources", negatives.chatSources(), names, problems);
            }
            requireKnown("negatives.file_sources", negatives.fileSources(), names, problems);
        }
        return problems;
    }

    private static void requireKnown(String key, List<String> referenced, Set<String> names, List<String> problems) {
        for (String name : referenced) {
            if (!names.contains(name)) {
                problems.add(key + " names '" + name + "', which is not one of the configured sources " + names
                        + (key.startsWith("negatives") ? " (or set negatives.enabled: false)" : ""));
            }
        }
    }
}
