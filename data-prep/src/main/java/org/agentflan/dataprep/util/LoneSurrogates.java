package org.agentflan.dataprep.util;

import java.util.List;
import org.agentflan.dataprep.model.Turn;

/**
 * Finds text that is not a sequence of characters: a UTF-16 surrogate without its other half, which JSON allows
 * as an escape ({@code "\ud83d"} alone, e.g. an emoji cut in two). It has no UTF-8 form, so what becomes of it
 * depends on who encodes it (Spark's string columns write '?', the tokenizer's native side U+FFFD): the reader
 * and {@code render} both reject such a record, with the same reason, so a shard and {@code render} agree.
 */
public final class LoneSurrogates {
    private LoneSurrogates() {}

    /** The index of the first lone surrogate in {@code text}, or -1 (also for null). */
    public static int find(String text) {
        if (text == null) {
            return -1;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++; // a whole pair
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /** Null when the id and every turn's text are whole characters; else the reject reason naming the first spot. */
    public static String in(String id, List<Turn> turns) {
        int at = find(id);
        if (at >= 0) {
            return describe("the id", id, at);
        }
        for (int t = 0; t < turns.size(); t++) {
            String content = turns.get(t).getContent();
            at = find(content);
            if (at >= 0) {
                return describe("turn [" + t + "] (" + turns.get(t).getRole() + ")", content, at);
            }
        }
        return null;
    }

    private static String describe(String where, String text, int at) {
        return where + " holds a lone surrogate \\u" + Integer.toHexString(text.charAt(at)).toUpperCase()
                + " at char " + at + " (half of a pair: not a character, no UTF-8 form)";
    }
}
