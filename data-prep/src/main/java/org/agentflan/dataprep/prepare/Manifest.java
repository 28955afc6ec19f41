package org.agentflan.dataprep.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * {@code <out>/manifest.json}: what the trainer and a reader of the corpus need to trust it. Written last, so
 * an output directory without it is an unfinished run.
 */
public record Manifest(int formatVersion, String template, String tokenizerSha256, long seed, int maxLength,
                       boolean eos, String overLength, String createdAt, double seconds,
                       Map<String, SourceCounts> sources, SourceCounts totals, JsonNode config) {
    public static final int FORMAT_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";
}
