package org.agentflan.format;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Llama-2's tokenizer ({@code tokenizer.json}, HF tokenizers through DJL) encoding text exactly as SentencePiece
 * does. Two traps are closed here: DJL truncates to 512 and pads by default (both turned off, no special tokens
 * added), and HF matches {@code <s>}, {@code </s>}, {@code <unk>} inside text as special tokens where
 * SentencePiece encodes them as characters; the tokenizer is therefore built with an empty {@code added_tokens}
 * list, which leaves the BPE vocabulary (and so every id) unchanged. Text is encoded segment by segment through a
 * {@link SegmentMemo} when the tokenizer is Llama-2's (same ids as the whole text at once, several times faster on
 * natural text); {@link #encodeWhole} is the plain native call. Thread-safe: {@link #shared(Path)} gives one
 * instance per JVM, which Spark's task threads share: with the memo most lookups never reach the native side, and
 * on 50 MB the tokenize stage took 4.2 s on one shared instance against 5.6 s with one instance per task thread.
 */
public final class Llama2Tokenizer implements AutoCloseable {
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    public static final String FILE_NAME = "tokenizer.json";

    /** Llama-2's normalizer: prepend "▁", spaces to "▁". The segment memo relies on exactly this. */
    private static final JsonNode LLAMA_NORMALIZER = parse("""
            {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
              {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}""");
    /** The same without the prepended "▁", for segments. */
    private static final JsonNode SEGMENT_NORMALIZER = parse("""
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}""");

    private static final Map<Path, Llama2Tokenizer> SHARED = new ConcurrentHashMap<>();

    private final HuggingFaceTokenizer tokenizer;
    /** Null when the tokenizer is not Llama-2's normalizer and BPE (then every text is encoded whole). */
    private final SegmentMemo segments;
    private final String sha256;
    private final Path file;
    /** UTF-16 length of each piece's text ("▁" stands for one space). */
    private final int[] pieceLength;
    /** The byte of a byte-fallback piece ({@code <0xNN>}), or -1. */
    private final int[] byteValue;

    private Llama2Tokenizer(HuggingFaceTokenizer tokenizer, SegmentMemo segments, String sha256, Path file,
                            int[] pieceLength, int[] byteValue) {
        this.tokenizer = tokenizer;
        this.segments = segments;
        this.sha256 = sha256;
        this.file = file;
        this.pieceLength = pieceLength;
        this.byteValue = byteValue;
    }

    /** The tokenizer.json inside {@code dirOrFile}, or the file itself. */
    public static Path jsonFile(Path dirOrFile) {
        return Files.isDirectory(dirOrFile) ? dirOrFile.resolve(FILE_NAME) : dirOrFile;
    }

    /** One instance per file per JVM: loading costs ~0.5 s and the native tokenizer is thread-safe. */
    public static Llama2Tokenizer shared(Path dirOrFile) {
        Path file = jsonFile(dirOrFile).toAbsolutePath().normalize();
        return SHARED.computeIfAbsent(file, Llama2Tokenizer::load);
    }

    /** Loads a fresh instance; throws {@link IllegalArgumentException} naming the file when it is unusable. */
    public static Llama2Tokenizer load(Path dirOrFile) {
        Path file = jsonFile(dirOrFile);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read tokenizer " + file + ": " + e.getMessage()
                    + " (point tokenizer at a directory holding tokenizer.json, e.g. sample-data/llama2-tokenizer)", e);
        }
        try {
            ObjectMapper json = new ObjectMapper();
            ObjectNode tree = (ObjectNode) json.readTree(bytes);
            if (!tree.has("model") || !tree.get("model").has("vocab")) {
                throw new IllegalArgumentException("tokenizer " + file + " has no model.vocab: not a HF tokenizer.json");
            }
            tree.putArray("added_tokens"); // special tokens must never be matched inside text
            HuggingFaceTokenizer hf = newNative(json.writeValueAsBytes(tree));
            var vocab = tree.get("model").get("vocab");
            int size = 0;
            for (var it = vocab.elements(); it.hasNext(); ) {
                size = Math.max(size, it.next().asInt() + 1);
            }
            int[] pieceLength = new int[size];
            int[] byteValue = new int[size];
            java.util.Arrays.fill(byteValue, -1);
            for (var it = vocab.fields(); it.hasNext(); ) {
                var e = it.next();
                int id = e.getValue().asInt();
                String piece = e.getKey();
                pieceLength[id] = piece.length();
                if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
                    byteValue[id] = Integer.parseInt(piece.substring(3, 5), 16);
                }
            }
            SegmentMemo segments = null;
            List<String> pieces = new ArrayList<>();
            vocab.fieldNames().forEachRemaining(pieces::add);
            if (LLAMA_NORMALIZER.equals(tree.get("normalizer")) && tree.path("pre_tokenizer").isNull()
                    && "BPE".equals(tree.get("model").path("type").asText()) && SegmentMemo.splitsSafely(pieces)) {
                tree.set("normalizer", SEGMENT_NORMALIZER);
                segments = new SegmentMemo(newNative(json.writeValueAsBytes(tree)), pieceLength, byteValue);
            }
            return new Llama2Tokenizer(hf, segments, sha256(bytes), file, pieceLength, byteValue);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("tokenizer ")) {
                throw iae;
            }
            throw new IllegalArgumentException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** Ids of {@code text} with no BOS/EOS, as SentencePiece encodes it (including its leading "▁"). */
    public int[] encode(String text) {
        return segments != null ? segments.encode(text) : encodeWhole(text);
    }

    /** {@link #encode} as one native call over the whole text, with no memo: the raw tokenizer. */
    public int[] encodeWhole(String text) {
        long handle = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        try {
            return toInts(TokenizersLibrary.LIB.getTokenIds(handle));
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(handle);
        }
    }

    /**
     * The text of {@code ids} as Llama-2's decoder spells it: "▁" back to spaces, byte pieces fused into
     * characters, the space that encoding prepends dropped. With no added tokens, BOS and EOS come back as the
     * text {@code <s>} and {@code </s>}, as the text that encodes to them would.
     */
    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, false);
    }

    /**
     * Ids plus each token's character span as UTF-16 indices into {@code text}; the bytes of a byte-fallback
     * character all carry that character's span. Spans are computed from the pieces: the normalizer only
     * prepends "▁" and maps spaces to "▁", so the pieces spell "▁" + text, one UTF-16 unit per piece character,
     * and byte pieces spell UTF-8. This costs nothing next to the native spans, which allocate one Java object
     * per token over JNI and double the cost of encoding; they remain the fallback if the spelling ever fails.
     */
    public Encoded encodeWithSpans(String text) {
        int[] ids = encode(text);
        Encoded fromPieces = spansFromPieces(text, ids);
        return fromPieces != null ? fromPieces : nativeSpans(text);
    }

    /** Spans from the pieces' spelling, or null when the pieces do not spell exactly "▁" + text. */
    Encoded spansFromPieces(String text, int[] ids) {
        if (ids.length == 0) { // nothing to prefix: the empty text has no tokens
            return text.isEmpty() ? new Encoded(ids, ids, ids) : null;
        }
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        int pos = -1; // the "▁" the normalizer prepends stands before the text
        int i = 0;
        while (i < ids.length) {
            int id = ids[i];
            if (id < 0 || id >= pieceLength.length) {
                return null;
            }
            if (byteValue[id] < 0) {
                starts[i] = Math.max(pos, 0);
                pos += pieceLength[id];
                ends[i] = pos;
                i++;
                continue;
            }
            int lead = byteValue[id];
            int bytes = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
            if (bytes == 0 || i + bytes > ids.length) {
                return null;
            }
            int units = bytes == 4 ? 2 : 1; // a 4-byte character is a surrogate pair in Java
            for (int k = 0; k < bytes; k++) {
                if (ids[i + k] < 0 || ids[i + k] >= byteValue.length || byteValue[ids[i + k]] < 0) {
                    return null;
                }
                starts[i + k] = Math.max(pos, 0);
                ends[i + k] = pos + units;
            }
            pos += units;
            i += bytes;
        }
        return pos == text.length() ? new Encoded(ids, starts, ends) : null;
    }

    /**
     * The native side's spans. It reports code points; they are converted so that text beyond the Basic
     * Multilingual Plane (emoji) lines up with Java's UTF-16 indices.
     */
    Encoded nativeSpans(String text) {
        // Only ids and spans are fetched: DJL's Encoding also copies tokens, words and masks over JNI per call.
        long handle = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        long[] ids;
        CharSpan[] spans;
        try {
            ids = TokenizersLibrary.LIB.getTokenIds(handle);
            spans = TokenizersLibrary.LIB.getTokenCharSpans(handle);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(handle);
        }
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        int[] utf16 = text.length() == text.codePointCount(0, text.length()) ? null : codePointToUtf16(text);
        for (int i = 0; i < ids.length; i++) {
            CharSpan s = spans[i];
            int start = s == null ? 0 : s.getStart();
            int end = s == null ? 0 : s.getEnd();
            starts[i] = utf16 == null ? start : utf16[start];
            ends[i] = utf16 == null ? end : utf16[end];
        }
        return new Encoded(toInts(ids), starts, ends);
    }

    /** sha256 of the tokenizer.json as given (before special tokens are disabled), for the manifest. */
    public String sha256() {
        return sha256;
    }

    public Path file() {
        return file;
    }

    /** True when {@link #encode} goes through the segment memo. */
    public boolean segmented() {
        return segments != null;
    }

    /** Segments remembered so far (0 without the memo). */
    int memoSize() {
        return segments == null ? 0 : segments.size();
    }

    @Override
    public void close() {
        tokenizer.close();
        if (segments != null) {
            segments.close();
        }
    }

    private static HuggingFaceTokenizer newNative(byte[] tokenizerJson) throws IOException {
        return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    /** Token ids with their character spans [start, end) in UTF-16 indices. */
    public record Encoded(int[] ids, int[] starts, int[] ends) {}

    private static JsonNode parse(String json) {
        try {
            return new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] codePointToUtf16(String text) {
        int[] map = new int[text.codePointCount(0, text.length()) + 1];
        int cp = 0;
        for (int i = 0; i < text.length(); i += Character.charCount(text.codePointAt(i))) {
            map[cp++] = i;
        }
        map[cp] = text.length();
        return map;
    }

    private static int[] toInts(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** sha256 of a file, read fully. */
    public static String sha256(Path file) {
        try {
            return sha256(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
