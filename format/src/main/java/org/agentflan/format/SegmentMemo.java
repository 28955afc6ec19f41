package org.agentflan.format;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Encodes text with Llama-2's BPE one whitespace-led segment at a time, remembering each segment's ids, with the
 * same result as encoding the whole text at once.
 *
 * <p>Why the result is the same: after normalization (a "▁" prepended, spaces turned into "▁") BPE only ever merges
 * two adjacent symbols into a vocabulary piece, and no Llama-2 piece holds a "▁" right after another character
 * (checked on load by {@link #splitsSafely}). So no merge ever spans a point where a run of "▁" follows another
 * character; the text falls apart there into segments ("▁the", "▁▁▁if(x)", ...) that encode independently.
 *
 * <p>Why it pays: one native encode costs about 0.7 µs per token plus a few µs per call, while natural text repeats
 * its words; a segment seen before costs one hash lookup. Segments not seen yet are encoded in one native call per
 * text (segments are independent, so their concatenation encodes to the concatenation of their ids) and split back
 * by the pieces' lengths. HF's own BPE cache cannot do this: without a pre-tokenizer its "word" is the whole text.
 */
final class SegmentMemo {
    /** Memo size at which it starts over; a few hundred thousand segments take tens of MB. */
    static final int MAX_ENTRIES = 1 << 18;
    /** Longer segments (long tokens of code, text without spaces) are encoded but not remembered. */
    static final int MAX_REMEMBERED_CHARS = 64;
    private static final char META = '\u2581';

    /** The tokenizer without its prepended "▁": spaces to "▁" only, so a segment encodes as it stands. */
    private final HuggingFaceTokenizer segmentTokenizer;
    private final int[] pieceLength;
    private final int[] byteValue;
    private final ConcurrentHashMap<String, int[]> memo = new ConcurrentHashMap<>();

    SegmentMemo(HuggingFaceTokenizer segmentTokenizer, int[] pieceLength, int[] byteValue) {
        this.segmentTokenizer = segmentTokenizer;
        this.pieceLength = pieceLength;
        this.byteValue = byteValue;
    }

    /** True when no piece of the vocabulary holds "▁" right after another character: segments never merge. */
    static boolean splitsSafely(Iterable<String> pieces) {
        for (String piece : pieces) {
            for (int i = 1; i < piece.length(); i++) {
                if (piece.charAt(i) == META && piece.charAt(i - 1) != META) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Ids of {@code text} as the whole-text tokenizer gives them (no BOS/EOS). */
    int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        // Segment k is text[bounds[k], bounds[k + 1]); the first is encoded with a leading space, which the
        // segment tokenizer turns into the "▁" the whole-text normalizer prepends.
        List<String> segments = new ArrayList<>();
        int start = 0;
        for (int i = 1; i <= text.length(); i++) {
            if (i == text.length() || (isSpace(text.charAt(i)) && !isSpace(text.charAt(i - 1)))) {
                segments.add(start == 0 ? " " + text.substring(0, i) : text.substring(start, i));
                start = i;
            }
        }
        int[][] ids = new int[segments.size()][];
        List<Integer> missing = new ArrayList<>();
        for (int k = 0; k < ids.length; k++) {
            ids[k] = memo.get(segments.get(k));
            if (ids[k] == null) {
                missing.add(k);
            }
        }
        if (!missing.isEmpty()) {
            encodeMissing(segments, missing, ids);
        }
        int total = 0;
        for (int[] s : ids) {
            total += s.length;
        }
        int[] out = new int[total];
        int at = 0;
        for (int[] s : ids) {
            System.arraycopy(s, 0, out, at, s.length);
            at += s.length;
        }
        return out;
    }

    /** Number of remembered segments (for tests and the benchmark). */
    int size() {
        return memo.size();
    }

    /** Encodes the segments not remembered yet in one native call, splits the ids back, remembers them. */
    private void encodeMissing(List<String> segments, List<Integer> missing, int[][] ids) {
        StringBuilder joined = new StringBuilder();
        List<Integer> joinedSegments = new ArrayList<>();
        for (int k : missing) {
            String segment = segments.get(k);
            // A segment of spaces only (the end of a text) would fuse with the next one's leading spaces.
            if (isSpaces(segment)) {
                ids[k] = nativeEncode(segment);
            } else {
                joined.append(segment);
                joinedSegments.add(k);
            }
        }
        if (!joinedSegments.isEmpty()) {
            int[] all = nativeEncode(joined.toString());
            if (!splitInto(all, segments, joinedSegments, ids)) {
                for (int k : joinedSegments) { // the pieces did not spell the text: take no shortcut
                    ids[k] = nativeEncode(segments.get(k));
                }
            }
        }
        for (int k : missing) {
            String segment = segments.get(k);
            if (segment.length() <= MAX_REMEMBERED_CHARS) {
                if (memo.size() >= MAX_ENTRIES) {
                    memo.clear(); // starting over keeps what the text at hand uses most
                }
                memo.put(segment, ids[k]);
            }
        }
    }

    /**
     * Cuts the ids of the joined segments at the segments' ends, walking the pieces' lengths (a byte-fallback
     * character is 1-4 byte pieces for one or two UTF-16 units). False when the pieces do not line up.
     */
    private boolean splitInto(int[] all, List<String> segments, List<Integer> order, int[][] ids) {
        int i = 0;
        for (int k : order) {
            int length = segments.get(k).length();
            int pos = 0;
            int first = i;
            while (pos < length && i < all.length) {
                int id = all[i];
                if (id < 0 || id >= pieceLength.length) {
                    return false;
                }
                if (byteValue[id] < 0) {
                    pos += pieceLength[id];
                    i++;
                    continue;
                }
                int lead = byteValue[id];
                int bytes = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
                if (bytes == 0) {
                    return false;
                }
                pos += bytes == 4 ? 2 : 1;
                i += bytes;
            }
            if (pos != length) {
                return false;
            }
            ids[k] = Arrays.copyOfRange(all, first, i);
        }
        return i == all.length;
    }

    private int[] nativeEncode(String text) {
        long handle = TokenizersLibrary.LIB.encode(segmentTokenizer.getHandle(), text, false);
        try {
            long[] ids = TokenizersLibrary.LIB.getTokenIds(handle);
            int[] out = new int[ids.length];
            for (int i = 0; i < ids.length; i++) {
                out[i] = (int) ids[i];
            }
            return out;
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(handle);
        }
    }

    void close() {
        segmentTokenizer.close();
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == META;
    }

    private static boolean isSpaces(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!isSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
