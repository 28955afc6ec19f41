package org.agentflan.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks a config tree against the record it will bind to, before Jackson sees it, so that every malformed value
 * is reported (Jackson stops at the first) and none is silently coerced: a fraction where a whole number belongs,
 * a non-finite number, an enum value outside its set, a list where a mapping belongs, an unknown or missing key.
 * It also yields the tree to bind: a malformed value is replaced by its default where there is one and left out
 * otherwise, so the record's own checks ({@link Validatable}) can still run on everything else in the same pass.
 */
final class ShapeCheck {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final PropertyNamingStrategies.NamingBase SNAKE =
            (PropertyNamingStrategies.NamingBase) PropertyNamingStrategies.SNAKE_CASE;

    /**
     * A problem at a dotted path; the message names the path. {@code replaced}: the value there was malformed and
     * stands replaced by its default, or left out (false for an unknown key, which is left out and touches no value).
     */
    record Finding(String path, String message, boolean replaced) {}

    /** The tree to bind, and what was wrong with the one given. */
    record Result(JsonNode bindable, List<Finding> findings) {}

    private final Map<String, String> texts;
    private final List<Finding> findings = new ArrayList<>();

    private ShapeCheck(Map<String, String> texts) {
        this.texts = texts;
    }

    /**
     * @param defaults the defaults tree, whose values stand in for malformed ones; null when there is none
     * @param texts    scalars as the user wrote them, by path, for messages ({@code 1e400} rather than {@code Infinity})
     */
    static Result check(Class<?> type, JsonNode tree, JsonNode defaults, Map<String, String> texts) {
        ShapeCheck check = new ShapeCheck(texts);
        JsonNode bindable = check.value(type, tree, "", defaults);
        return new Result(bindable == null ? NODES.objectNode() : bindable, check.findings);
    }

    /** The snake_case key of a record component, as Jackson binds it. */
    private static String key(RecordComponent component) {
        return SNAKE.translate(component.getName());
    }

    /** Returns the node to bind for {@code node}, or {@code fallback} (null: leave it out) after reporting it. */
    private JsonNode value(Type type, JsonNode node, String path, JsonNode fallback) {
        Class<?> raw = rawClass(type);
        if (raw.isRecord()) {
            return record(raw, node, path, fallback);
        }
        if (raw == List.class) {
            return list(type, node, path, fallback);
        }
        if (raw.isEnum()) {
            List<String> names = ConfigEnums.names(raw);
            return node.isTextual() && names.contains(node.textValue()) ? node
                    : bad(path, "must be one of " + String.join(", ", names) + "; got " + got(node, path), fallback);
        }
        if (raw == String.class) {
            if (node.isTextual()) {
                return node;
            }
            // An unquoted 2024 or true is still the text the user wrote (leading zeros and all) when text is expected.
            return node.isValueNode() && !node.isNull() ? NODES.textNode(texts.getOrDefault(path, node.asText()))
                    : bad(path, "must be a text value, got " + got(node, path), fallback);
        }
        if (raw == boolean.class || raw == Boolean.class) {
            return node.isBoolean() ? node : bad(path, "must be true or false, got " + got(node, path), fallback);
        }
        if (raw == int.class || raw == Integer.class) {
            return whole(node, path, fallback, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        if (raw == long.class || raw == Long.class) {
            return whole(node, path, fallback, Long.MIN_VALUE, Long.MAX_VALUE);
        }
        if (raw == double.class || raw == Double.class) {
            if (!node.isNumber()) {
                return bad(path, "must be a number, got " + got(node, path), fallback);
            }
            return Double.isFinite(node.doubleValue()) ? node
                    : bad(path, "must be a finite number, got " + got(node, path), fallback);
        }
        throw new IllegalStateException("config value '" + path + "' has type " + type.getTypeName()
                + ", which the config loader does not check; use a record, List, enum, String, boolean, int, long or double");
    }

    private JsonNode record(Class<?> type, JsonNode node, String path, JsonNode fallback) {
        if (!node.isObject()) {
            return bad(path, "must be a mapping of keys, got " + got(node, path), fallback);
        }
        RecordComponent[] components = type.getRecordComponents();
        Set<String> known = new LinkedHashSet<>();
        for (RecordComponent c : components) {
            known.add(key(c));
        }
        node.fieldNames().forEachRemaining(name -> {
            if (!known.contains(name)) {
                String at = YamlDocument.child(path, name);
                findings.add(new Finding(at, "unknown key '" + at + "'" + KeySuggestion.among(name, List.copyOf(known)), false));
            }
        });
        // A record bound through a @JsonCreator factory gives absent keys their defaults itself (list items have no
        // defaults file); any other record needs every key, which the defaults file guarantees for loaded configs.
        boolean absentAllowed = hasCreator(type);
        ObjectNode out = NODES.objectNode();
        for (RecordComponent c : components) {
            String name = key(c);
            String at = YamlDocument.child(path, name);
            JsonNode childFallback = fallback == null ? null : fallback.get(name);
            JsonNode child = node.get(name);
            JsonNode bound;
            if (child == null) {
                bound = absentAllowed ? null : bad(at, "is missing", childFallback);
            } else {
                bound = value(c.getGenericType(), child, at, childFallback);
            }
            if (bound != null) {
                out.set(name, bound);
            }
        }
        return out;
    }

    private JsonNode list(Type type, JsonNode node, String path, JsonNode fallback) {
        if (!node.isArray()) {
            return bad(path, "must be a list, got " + got(node, path), fallback);
        }
        Type element = type instanceof ParameterizedType p ? p.getActualTypeArguments()[0] : Object.class;
        ArrayNode out = NODES.arrayNode();
        for (int i = 0; i < node.size(); i++) {
            // List items have no defaults: a malformed item is reported and left out.
            JsonNode item = value(element, node.get(i), path + "[" + i + "]", null);
            if (item != null) {
                out.add(item);
            }
        }
        return out;
    }

    /** A whole number in [min, max]; 2.0 and 5e9 are whole, 2.7 is not (Jackson would silently truncate it to 2). */
    private JsonNode whole(JsonNode node, String path, JsonNode fallback, long min, long max) {
        if (!node.isNumber()) {
            return bad(path, "must be a whole number, got " + got(node, path), fallback);
        }
        BigDecimal value;
        if (node.isFloatingPointNumber()) {
            double d = node.doubleValue();
            if (!Double.isFinite(d) || d != Math.rint(d)) {
                return bad(path, "must be a whole number, got " + got(node, path), fallback);
            }
            value = new BigDecimal(d);
        } else {
            value = new BigDecimal(node.bigIntegerValue());
        }
        if (value.compareTo(BigDecimal.valueOf(min)) < 0 || value.compareTo(BigDecimal.valueOf(max)) > 0) {
            return bad(path, "must be a whole number from " + min + " to " + max + ", got " + got(node, path), fallback);
        }
        BigInteger exact = value.toBigIntegerExact();
        return max == Integer.MAX_VALUE ? NODES.numberNode(exact.intValueExact()) : NODES.numberNode(exact.longValueExact());
    }

    private JsonNode bad(String path, String problem, JsonNode fallback) {
        findings.add(new Finding(path, (path.isEmpty() ? "the config" : path) + " " + problem, true));
        return fallback;
    }

    /** The value as the user wrote it: quoted text, a number or boolean as typed, or what kind of thing it is. */
    private String got(JsonNode node, String path) {
        if (node.isTextual()) {
            return "'" + node.textValue() + "'";
        }
        if (node.isNull()) {
            return "no value";
        }
        if (node.isObject()) {
            return "a mapping";
        }
        if (node.isArray()) {
            return "a list";
        }
        return texts.getOrDefault(path, node.asText());
    }

    private static boolean hasCreator(Class<?> type) {
        return Arrays.stream(type.getDeclaredMethods()).anyMatch(m -> m.isAnnotationPresent(JsonCreator.class))
                || Arrays.stream(type.getDeclaredConstructors()).anyMatch(c -> c.isAnnotationPresent(JsonCreator.class));
    }

    private static Class<?> rawClass(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType p) {
            return (Class<?>) p.getRawType();
        }
        throw new IllegalStateException("config type " + type.getTypeName() + " is not supported by the config loader");
    }
}
