package org.agentflan.format;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code <out>/manifest.json}: what the trainer and a reader of the corpus need to trust it. Written last, so
 * an output directory without it is an unfinished run. JSON keys are the fields in snake_case.
 *
 * <p>{@code conversations} says whether the folder also holds the conversations it tokenized
 * ({@link ConversationRecord#DIR}), which {@code agentflan eval}'s probes need. It is not part of the format
 * version: the shards are the same either way, and a manifest written before the field existed reads as false.
 */
public record Manifest(int formatVersion, String template, String tokenizerSha256, long seed, int maxLength,
                       boolean eos, String overLength, String createdAt, double seconds,
                       Map<String, SourceCounts> sources, SourceCounts totals, JsonNode config,
                       boolean conversations) {
    /**
     * The version of the whole corpus format: this manifest, {@link ShardSchema} and {@link ChatTemplate}. Version 2
     * added {@link ShardSchema#CAPABILITY_IDS}; version 1 corpora are still read (the trainer then has no
     * capability labels).
     */
    public static final int FORMAT_VERSION = 2;
    /** The oldest version {@link #read} accepts: 1 differs from 2 only by the missing capability column. */
    public static final int OLDEST_READABLE_VERSION = 1;
    public static final String FILE_NAME = "manifest.json";
    private static final String CONVERSATIONS = "conversations";

    /** Strict: a missing, null or unknown field is an error, so a manifest of another shape never half-loads. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** Writes this manifest as JSON to {@code out}, which the caller closes (data-prep writes through Hadoop). */
    public void write(OutputStream out) throws IOException {
        JSON.writeValue(out, this);
    }

    /**
     * Reads a manifest file. The format version is checked before anything else, so a corpus of another version
     * is refused as such; then every field must be there.
     *
     * @throws FormatException naming the file and the field
     */
    public static Manifest read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new FormatException(file + ": no manifest (not a finished 'agentflan prepare' output folder)", e);
        } catch (JsonProcessingException e) {
            throw new FormatException(file + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new FormatException(file + ": cannot read manifest (" + e + ")", e);
        }
        JsonNode version = root.get("format_version");
        if (version == null || !version.isInt()) {
            throw new FormatException(file + ": field 'format_version' missing or not an integer");
        }
        if (version.asInt() < OLDEST_READABLE_VERSION || version.asInt() > FORMAT_VERSION) {
            throw new FormatException(file + ": field 'format_version' is " + version.asInt()
                    + " but this build reads versions " + OLDEST_READABLE_VERSION + " to " + FORMAT_VERSION
                    + " (re-run 'agentflan prepare')");
        }
        if (root.isObject() && !root.has(CONVERSATIONS)) {
            // Written before prepare kept its conversations: the shards are complete, the conversations absent.
            ((ObjectNode) root).put(CONVERSATIONS, false);
        }
        Manifest manifest;
        try {
            manifest = JSON.treeToValue(root, Manifest.class);
        } catch (UnrecognizedPropertyException e) {
            throw new FormatException(file + ": unknown field '" + path(e) + "' (not written by this version)", e);
        } catch (JsonMappingException e) {
            throw new FormatException(file + ": field '" + path(e) + "': " + withoutAdvice(e.getOriginalMessage()), e);
        } catch (JsonProcessingException e) {
            throw new FormatException(file + ": " + e.getOriginalMessage(), e);
        }
        if (manifest.tokenizerSha256() == null || manifest.tokenizerSha256().isBlank()) {
            throw new FormatException(file + ": field 'tokenizer_sha256' is empty");
        }
        return manifest;
    }

    /** Whether this corpus's shards carry {@link ShardSchema#CAPABILITY_IDS} (format version 2 on). */
    public boolean hasCapabilityLabels() {
        return formatVersion >= 2;
    }

    /** Jackson's message without its advice on switching its features ("Missing creator property 'seed'"). */
    private static String withoutAdvice(String message) {
        int advice = message.indexOf(" (set DeserializationConfig");
        advice = advice >= 0 ? advice : message.indexOf("; `DeserializationFeature");
        return advice >= 0 ? message.substring(0, advice) : message;
    }

    /** The dotted path of the field a mapping error is about ("totals.loss_tokens"). */
    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining("."));
    }
}
