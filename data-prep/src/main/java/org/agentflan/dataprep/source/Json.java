package org.agentflan.dataprep.source;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.agentflan.dataprep.model.RejectKind;

/** Jackson set up once per JVM for parsing inputs, plus typed field access whose errors name the field. */
final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();
    /** Reads one value out of a larger document (an array element), so tokens after it are expected. */
    static final ObjectReader ELEMENT_READER = MAPPER.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Canonical form for content hashes: map keys sorted, no whitespace. */
    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build();

    private Json() {}

    static JsonNode parse(String text) throws BadRecordException {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
            throw new BadRecordException(RejectKind.MALFORMED_JSON, "malformed JSON" + where + ": " + e.getOriginalMessage());
        }
    }

    static String canonical(JsonNode node) {
        try {
            return CANONICAL.writeValueAsString(CANONICAL.treeToValue(node, Object.class));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot re-serialise parsed JSON", e);
        }
    }

    static String compact(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot re-serialise parsed JSON", e);
        }
    }

    static void requireObject(JsonNode node, String path) throws BadRecordException {
        if (node == null || !node.isObject()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, (path.isEmpty() ? "record" : "'" + path + "'") + " must be a JSON object, got "
                    + kind(node));
        }
    }

    static JsonNode required(JsonNode object, String field, String path) throws BadRecordException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "missing field '" + join(path, field) + "'");
        }
        return value;
    }

    static String requiredText(JsonNode object, String field, String path) throws BadRecordException {
        JsonNode value = required(object, field, path);
        if (!value.isTextual()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + join(path, field) + "' must be a string, got " + kind(value));
        }
        return value.textValue();
    }

    static JsonNode requiredArray(JsonNode object, String field, String path) throws BadRecordException {
        JsonNode value = required(object, field, path);
        if (!value.isArray()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + join(path, field) + "' must be an array, got " + kind(value));
        }
        return value;
    }

    /** The boolean at {@code field}, or {@code fallback} when absent or null. */
    static boolean optionalBoolean(JsonNode object, String field, String path, boolean fallback) throws BadRecordException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return fallback;
        }
        if (!value.isBoolean()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + join(path, field) + "' must be a boolean, got " + kind(value));
        }
        return value.booleanValue();
    }

    /** A source id: a string, or a number written as text; null when absent. */
    static String optionalId(JsonNode object) throws BadRecordException {
        JsonNode value = object.get("id");
        if (value == null || value.isNull()) {
            return null;
        }
        if (value.isTextual() || value.isIntegralNumber()) {
            String id = value.asText();
            return id.isEmpty() ? null : id;
        }
        throw new BadRecordException(RejectKind.BAD_FIELD, "field 'id' must be a string, got " + kind(value));
    }

    static String join(String path, String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    static String kind(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
