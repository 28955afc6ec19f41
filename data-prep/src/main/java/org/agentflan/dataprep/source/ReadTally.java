package org.agentflan.dataprep.source;

import java.io.Serializable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;

/**
 * What parsing one source found, reported by the tasks of whichever job first parses it, so that counting
 * records and numbering the lines of rejects need no pass of their own. One {@link Part} per unit of input (a
 * JSONL split or a whole file), keyed by that unit: a task that runs twice (a retry, a recomputed stage, a
 * second job) reports the same part again and replaces it, so nothing is counted twice, unlike a summing
 * accumulator. The tally is complete once every unit has reported.
 */
public final class ReadTally extends AccumulatorV2<ReadTally.Part, Map<String, ReadTally.Part>> {
    private static final long serialVersionUID = 1L;

    /**
     * Rejects a part carries to the driver (each keeps at most 4 KB of its record, so at most 400 KB a part); past
     * this, writing the rejects parses the input again.
     */
    public static final int MAX_REJECTS_PER_PART = 100;

    /**
     * One unit of input: its file, where it starts in it (-1 for a file read whole), its number of lines (JSONL
     * splits; 0 otherwise), the conversations and rejects parsed from it, and those rejects themselves (null when
     * there were more than {@link #MAX_REJECTS_PER_PART}), so that bad records need no second parse.
     */
    public record Part(String file, long start, long lines, long conversations, long rejects,
                       List<ConversationReader.ReadOutcome> rejectOutcomes) implements Serializable {
        public boolean isSplit() {
            return start >= 0;
        }

        /** The unit's key: {@link #splitKey} for a split, the file for a whole file. */
        public String key() {
            return isSplit() ? splitKey(file, start) : file;
        }
    }

    /** How a JSONL split is named, in the tally and in its rejects' {@code split}. */
    public static String splitKey(String file, long start) {
        return file + "@" + start;
    }

    private final Map<String, Part> parts = new HashMap<>();

    @Override
    public boolean isZero() {
        return parts.isEmpty();
    }

    @Override
    public ReadTally copy() {
        ReadTally copy = new ReadTally();
        copy.parts.putAll(parts);
        return copy;
    }

    @Override
    public void reset() {
        parts.clear();
    }

    @Override
    public void add(Part part) {
        parts.put(part.key(), part);
    }

    @Override
    public void merge(AccumulatorV2<Part, Map<String, Part>> other) {
        parts.putAll(other.value());
    }

    @Override
    public Map<String, Part> value() {
        return new TreeMap<>(parts);
    }
}
