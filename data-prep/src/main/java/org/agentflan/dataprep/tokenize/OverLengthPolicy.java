package org.agentflan.dataprep.tokenize;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** What to do with a sample longer than {@code max_length} tokens. */
public enum OverLengthPolicy {
    /** Reject the sample (reason {@code over_length}), counted in the manifest. */
    DROP,
    /** Keep the longest prefix of whole turns that fits and ends with a loss turn; reject if none does. */
    TRUNCATE_TURNS;

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static OverLengthPolicy of(String key) {
        for (OverLengthPolicy p : values()) {
            if (p.key().equals(key)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown over-length policy '" + key + "' (use drop or truncate_turns)");
    }
}
