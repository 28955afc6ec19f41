package org.agentflan.format;

import java.util.Map;
import java.util.TreeMap;

/**
 * Manifest counts of one source (or of all, in {@code totals}). {@code read} = {@code parsed} + reader rejects;
 * transforms and mixing turn the parsed records into {@code candidates} samples, each of which is either
 * {@code emitted} or rejected by the tokenize stage (e.g. over length, no loss turn left after capability_balance).
 * {@code rejected} counts both kinds; {@code rejected_reasons} breaks it down by reject kind (e.g. over_length).
 * {@code markers_in_text}: candidates whose text holds a template marker, rejected or kept per markers_in_text.
 */
public record SourceCounts(long read, long parsed, long candidates, long emitted, long rejected,
                           Map<String, Long> rejectedReasons, long truncated, long tokens, long lossTokens,
                           long markersInText) {

    public static SourceCounts empty() {
        return new SourceCounts(0, 0, 0, 0, 0, new TreeMap<>(), 0, 0, 0, 0);
    }

    public SourceCounts plus(SourceCounts o) {
        Map<String, Long> reasons = new TreeMap<>(rejectedReasons);
        o.rejectedReasons.forEach((k, v) -> reasons.merge(k, v, Long::sum));
        return new SourceCounts(read + o.read, parsed + o.parsed, candidates + o.candidates, emitted + o.emitted,
                rejected + o.rejected, reasons, truncated + o.truncated, tokens + o.tokens, lossTokens + o.lossTokens,
                markersInText + o.markersInText);
    }
}
