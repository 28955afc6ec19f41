package org.agentflan.dataprep.tokenize;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import java.util.Locale;
import org.agentflan.dataprep.model.Turn;

/**
 * What to do with a sample whose text holds one of the template's role tags ({@code markers_in_text}). A turn
 * starts with a role tag, so a tag inside a turn's text renders (and tokenizes) exactly like the start of another
 * turn: a tool result holding {@code "<|Assistant|>"} shows the model an assistant turn that never was, and an
 * assistant turn holding one teaches it to write turn boundaries. Every turn is checked. {@code <s>} and
 * {@code </s>} are not markers here: text is encoded as text, so they never become BOS or EOS (docs/method.md
 * section 8), and they are common in real text (HTML strikethrough).
 */
public enum MarkersInText {
    /** Reject the sample ({@code marker_in_text}), counted and listed in rejects/. */
    REJECT,
    /** Keep it as it is; it is still counted ({@code markers_in_text} in the manifest). */
    KEEP;

    /** The role tags of {@link org.agentflan.format.ChatTemplate}'s begin markers, without the begin sign. */
    public static final List<String> MARKERS = List.of("<|Human|>", "<|Assistant|>");

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static MarkersInText of(String key) {
        for (MarkersInText p : values()) {
            if (p.key().equals(key)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown markers_in_text policy '" + key + "' (use reject or keep)");
    }

    /** Null when no turn's text holds a marker; else which turn, which marker and where (the reject reason). */
    public static String find(List<Turn> turns) {
        for (int t = 0; t < turns.size(); t++) {
            String content = turns.get(t).getContent();
            if (content == null || content.indexOf("<|") < 0) {
                continue; // the cheap common case: no tag can start here
            }
            for (String marker : MARKERS) {
                int at = content.indexOf(marker);
                if (at >= 0) {
                    return "turn [" + t + "] (" + turns.get(t).getRole() + ") holds the template marker '" + marker
                            + "' at char " + at;
                }
            }
        }
        return null;
    }
}
