package org.agentflan.dataprep.source;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes UTF-8 with a REPORTING decoder, so invalid bytes are found instead of silently becoming U+FFFD
 * (what {@code new String(bytes, UTF_8)} and Spark's text source do). Each malformed run is still replaced
 * by U+FFFD so the rest of a whole file stays parseable; its character position is recorded so the record
 * (line or array element) that contains it can be rejected with the byte offset.
 */
final class StrictUtf8 {

    /** The decoded text and where invalid input was: parallel lists of char positions and byte offsets. */
    record Decoded(String text, List<Integer> badCharPositions, List<Long> badByteOffsets) {
        boolean valid() {
            return badCharPositions.isEmpty();
        }

        /** The byte offset of the first invalid sequence in [fromChar, toChar), or -1. */
        long firstBadByteBetween(int fromChar, int toChar) {
            for (int i = 0; i < badCharPositions.size(); i++) {
                int p = badCharPositions.get(i);
                if (p >= fromChar && p < toChar) {
                    return badByteOffsets.get(i);
                }
            }
            return -1;
        }
    }

    private StrictUtf8() {}

    static Decoded decode(byte[] bytes, int offset, int length) {
        // Fast path: the JDK's intrinsic decoder, which replaces bad input with U+FFFD. Without a U+FFFD in the
        // result the input was valid; with one (bad bytes, or a real U+FFFD in the text) decode strictly.
        String fast = new String(bytes, offset, length, StandardCharsets.UTF_8);
        if (fast.indexOf('\uFFFD') < 0) {
            return new Decoded(fast, List.of(), List.of());
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        CharBuffer out = CharBuffer.allocate(length + 16);
        List<Integer> badChars = new ArrayList<>();
        List<Long> badBytes = new ArrayList<>();
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isUnderflow()) {
                break;
            }
            if (result.isOverflow()) {
                out = grow(out);
                continue;
            }
            badChars.add(out.position());
            badBytes.add((long) (in.position() - offset));
            if (out.remaining() < 1) {
                out = grow(out);
            }
            out.put('\uFFFD');
            in.position(in.position() + result.length());
        }
        while (decoder.flush(out).isOverflow()) {
            out = grow(out);
        }
        out.flip();
        return new Decoded(out.toString(), badChars, badBytes);
    }

    private static CharBuffer grow(CharBuffer out) {
        CharBuffer bigger = CharBuffer.allocate(out.capacity() * 2 + 16);
        out.flip();
        bigger.put(out);
        return bigger;
    }
}
