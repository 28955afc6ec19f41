package org.agentflan.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Loads a typed config: built-in defaults (a YAML resource next to the record), then the user's file, then
 * {@code --set key=value} overrides, in that order. Every key must exist in the defaults, so a typo stops the
 * run before any work with a message naming the dotted key; all problems are reported at once. YAML keys are
 * snake_case and bind to camelCase record components.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = strict(new ObjectMapper(new YAMLFactory()));
    private static final ObjectMapper JSON = strict(new ObjectMapper());

    private ConfigLoader() {}

    /** A mapper configured like the loader (snake_case, strict), for writing resolved configs as JSON. */
    public static ObjectMapper json() {
        return JSON;
    }

    /**
     * @param type the record to bind
     * @param defaultsResource classpath resource with every key and its default value
     * @param file the user's YAML file, or null for defaults only
     * @param overrides "dotted.key=value" strings; values are parsed as YAML scalars or flow collections
     */
    public static <T> T load(Class<T> type, String defaultsResource, Path file, List<String> overrides) {
        ObjectNode defaults = readDefaults(type, defaultsResource);
        ObjectNode merged = defaults.deepCopy();
        List<String> problems = new ArrayList<>();
        String source = file == null ? "(defaults)" : file.toString();
        if (file != null) {
            JsonNode user = readFile(file);
            if (user != null && !user.isNull()) {
                if (!user.isObject()) {
                    throw new ConfigException(source, List.of("top level must be a mapping of keys, got " + user.getNodeType()));
                }
                merge(defaults, merged, (ObjectNode) user, "", source, problems);
            }
        }
        for (String override : overrides) {
            applyOverride(defaults, merged, override, problems);
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(source, problems);
        }
        return bind(type, merged, source);
    }

    /** Binds an already-resolved tree (e.g. the config saved in a checkpoint); unknown keys are still errors. */
    public static <T> T bind(Class<T> type, JsonNode tree, String source) {
        T value;
        try {
            value = JSON.treeToValue(tree, type);
        } catch (JsonProcessingException e) {
            throw new ConfigException(source, List.of(describe(e)));
        }
        if (value instanceof Validatable v) {
            List<String> problems = v.problems();
            if (!problems.isEmpty()) {
                throw new ConfigException(source, problems);
            }
        }
        return value;
    }

    /** The config as a tree (snake_case keys), e.g. to save the resolved config with a run. */
    public static JsonNode toTree(Object config) {
        return JSON.valueToTree(config);
    }

    private static ObjectNode readDefaults(Class<?> type, String resource) {
        try (InputStream in = type.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("defaults resource " + resource + " missing next to " + type.getName());
            }
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read defaults " + resource, e);
        }
    }

    private static JsonNode readFile(Path file) {
        try {
            return YAML.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of("file not found (pass an existing YAML file to --config)"));
        } catch (JsonProcessingException e) {
            throw new ConfigException(file.toString(), List.of("not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr())));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read: " + e));
        }
    }

    /** Copies user keys onto target; a key absent from the defaults is a problem. Lists replace wholesale. */
    private static void merge(JsonNode defaults, ObjectNode target, ObjectNode user, String prefix,
                              String source, List<String> problems) {
        Iterator<Map.Entry<String, JsonNode>> fields = user.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String key = prefix + field.getKey();
            JsonNode known = defaults.get(field.getKey());
            if (known == null) {
                problems.add("unknown key '" + key + "'" + suggestion(defaults, field.getKey()));
            } else if (known.isObject() && field.getValue().isObject()) {
                merge(known, (ObjectNode) target.get(field.getKey()), (ObjectNode) field.getValue(),
                        key + ".", source, problems);
            } else if (known.isObject() && !field.getValue().isNull()) {
                problems.add("key '" + key + "' must be a mapping, got " + field.getValue().getNodeType());
            } else {
                target.set(field.getKey(), field.getValue());
            }
        }
    }

    private static void applyOverride(ObjectNode defaults, ObjectNode merged, String override, List<String> problems) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            problems.add("--set '" + override + "' must look like key=value");
            return;
        }
        String[] path = override.substring(0, eq).trim().split("\\.");
        JsonNode value;
        try {
            String text = override.substring(eq + 1);
            value = text.isEmpty() ? JSON.getNodeFactory().textNode("") : YAML.readTree(text);
        } catch (JsonProcessingException e) {
            problems.add("--set " + override + ": value is not valid YAML: " + e.getOriginalMessage());
            return;
        }
        // Re-use the merge rules by building the one-key tree the override stands for.
        ObjectNode tree = JSON.createObjectNode();
        ObjectNode cursor = tree;
        for (int i = 0; i < path.length - 1; i++) {
            cursor = cursor.putObject(path[i]);
        }
        cursor.set(path[path.length - 1], value);
        List<String> found = new ArrayList<>();
        merge(defaults, merged, tree, "", "--set", found);
        for (String p : found) {
            problems.add("--set " + override + ": " + p);
        }
    }

    private static String suggestion(JsonNode defaults, String key) {
        List<String> names = new ArrayList<>();
        defaults.fieldNames().forEachRemaining(names::add);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String name : names) {
            int d = editDistance(name, key);
            if (d < bestDistance) {
                bestDistance = d;
                best = name;
            }
        }
        String hint = best != null && bestDistance <= Math.max(2, key.length() / 3) ? " (did you mean '" + best + "'?)" : "";
        return hint + "; known keys here: " + String.join(", ", names);
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    private static String describe(JsonProcessingException e) {
        if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()) {
            StringBuilder key = new StringBuilder();
            for (com.fasterxml.jackson.databind.JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    if (key.length() > 0) key.append('.');
                    key.append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    key.append('[').append(r.getIndex()).append(']');
                }
            }
            return "key '" + key + "': " + e.getOriginalMessage();
        }
        return e.getOriginalMessage();
    }

    private static ObjectMapper strict(ObjectMapper mapper) {
        return mapper
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }
}
