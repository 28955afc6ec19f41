package org.agentflan.dataprep.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Llama-2's tokenizer ({@code tokenizer.json}, HF tokenizers through DJL) encoding text exactly as SentencePiece
 * does. Two traps are closed here: DJL truncates to 512 and pads by default (both turned off, no special tokens
 * added), and HF matches {@code <s>}, {@code </s>}, {@code <unk>} inside text as special tokens where
 * SentencePiece encodes them as characters; the tokenizer is therefore built with an empty {@code added_tokens}
 * list, which leaves the BPE vocabulary (and so every id) unchanged. Thread-safe; load once per JVM via
 * {@link #shared(Path)}.
 */
public final class Llama2Tokenizer implements AutoCloseable {
    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    public static final String FILE_NAME = "tokenizer.json";

    private static final Map<Path, Llama2Tokenizer> SHARED = new ConcurrentHashMap<>();

    private final HuggingFaceTokenizer tokenizer;
    private final String sha256;
    private final Path file;

    private Llama2Tokenizer(HuggingFaceTokenizer tokenizer, String sha256, Path file) {
        this.tokenizer = tokenizer;
        this.sha256 = sha256;
        this.file = file;
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
            byte[] textOnly = json.writeValueAsBytes(tree);
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(textOnly),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
            return new Llama2Tokenizer(hf, sha256(bytes), file);
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("tokenizer ")) {
                throw iae;
            }
            throw new IllegalArgumentException("cannot load tokenizer " + file + ": " + e.getMessage(), e);
        }
    }

    /** Ids of {@code text} with no BOS/EOS, as SentencePiece encodes it (including its leading "▁"). */
    public int[] encode(String text) {
        long handle = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, false);
        try {
            return toInts(TokenizersLibrary.LIB.getTokenIds(handle));
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(handle);
        }
    }

    /**
     * Ids plus each token's character span as UTF-16 indices into {@code text}. The native side reports spans in
     * code points; they are converted here so that text beyond the Basic Multilingual Plane (emoji) lines up.
     * The bytes of a byte-fallback character all carry that character's span.
     */
    public Encoded encodeWithSpans(String text) {
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

    @Override
    public void close() {
        tokenizer.close();
    }

    /** Token ids with their character spans [start, end) in UTF-16 indices. */
    public record Encoded(int[] ids, int[] starts, int[] ends) {}

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
