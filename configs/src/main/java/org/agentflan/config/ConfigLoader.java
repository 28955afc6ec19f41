package org.agentflan.config;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a typed config: built-in defaults (a YAML resource next to the record), then the user's file, then
 * {@code --set key=value} overrides, in that order. YAML keys are snake_case and bind to camelCase record
 * components; closed sets of values are enums written in lowercase ({@link ConfigEnums}).
 *
 * <p>Nothing is coerced or dropped silently, and every problem is reported in one {@link ConfigException}, each
 * with where it came from ({@code c.yaml line 3:} or {@code --set optimizer.lr=-1:}): unknown keys (with the
 * closest known one), duplicate keys, values of the wrong kind (a fraction for a whole number, a non-finite
 * number, a value outside an enum) and the record's own checks ({@link Validatable}) together. A malformed value
 * is replaced by its default while the record's checks run, so they see everything else.
 */
public final class ConfigLoader {
    private static final ObjectMapper JSON = strict(JsonMapper.builder()
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS) // lowercase YAML names; exactness is ShapeCheck's
            .build());
    /** The dotted key a {@link Validatable} problem starts with ("optimizer.lr must be ..."; "sources[0]: ..."). */
    private static final Pattern LEADING_KEY = Pattern.compile("^[a-z][a-z0-9_]*(\\[\\d+])*(\\.[a-z][a-z0-9_]*(\\[\\d+])*)*");
    /** Problems sort by where they came from: the file by line, then the --set overrides in order, then the rest. */
    private static final int OVERRIDE_RANK = Integer.MAX_VALUE / 2;

    private ConfigLoader() {}

    /** A mapper configured like the loader (snake_case, strict, lowercase enums), for writing resolved configs as JSON. */
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
        Resolution r = new Resolution(defaults);
        if (file != null) {
            r.addFile(file);
        }
        for (int i = 0; i < overrides.size(); i++) {
            r.addOverride(overrides.get(i), i);
        }
        String source = file != null ? file.toString() : overrides.isEmpty() ? "(built-in defaults)" : "(defaults and --set)";
        return r.bind(type, source);
    }

    /** Binds an already-resolved tree (e.g. one source entry); it is checked as strictly as a loaded file. */
    public static <T> T bind(Class<T> type, JsonNode tree, String source) {
        Resolution r = new Resolution(null);
        r.tree = tree.deepCopy();
        return r.bind(type, source);
    }

    /** The config as a tree (snake_case keys, lowercase enums), e.g. to save the resolved config with a run. */
    public static JsonNode toTree(Object config) {
        return JSON.valueToTree(config);
    }

    private static ObjectNode readDefaults(Class<?> type, String resource) {
        try (InputStream in = type.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("defaults resource " + resource + " missing next to " + type.getName());
            }
            YamlDocument.Parsed parsed = YamlDocument.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            if (!parsed.problems().isEmpty() || parsed.tree() == null || !parsed.tree().isObject()) {
                throw new IllegalStateException("defaults resource " + resource + " of " + type.getName()
                        + " must be one mapping without duplicate keys: " + parsed.problems());
            }
            return (ObjectNode) parsed.tree();
        } catch (IOException | YamlDocument.SyntaxError e) {
            throw new IllegalStateException("cannot read defaults " + resource + " of " + type.getName() + ": " + e.getMessage(), e);
        }
    }

    /** Where a value came from: {@code "c.yaml line 3"} or {@code "--set optimizer.lr=-1"}, and its sort rank. */
    private record Origin(String label, int rank) {}

    private record Problem(int rank, String text) {}

    /** One load in progress: the merged tree, where each of its user-set values came from, and the problems so far. */
    private static final class Resolution {
        private final ObjectNode defaults;
        private final List<String> defaultPaths = new ArrayList<>();
        private JsonNode tree;
        private final Map<String, Origin> origins = new HashMap<>();
        private final Map<String, String> texts = new HashMap<>();
        private final List<Problem> problems = new ArrayList<>();

        Resolution(ObjectNode defaults) {
            this.defaults = defaults;
            if (defaults != null) {
                this.tree = defaults.deepCopy();
                collectPaths(defaults, "");
            }
        }

        void addFile(Path file) {
            YamlDocument.Parsed parsed;
            try {
                parsed = YamlDocument.parse(Files.readString(file));
            } catch (NoSuchFileException e) {
                throw new ConfigException(file.toString(), List.of("file not found (pass an existing YAML file to --config)"));
            } catch (YamlDocument.SyntaxError e) {
                throw new ConfigException(file.toString(), List.of("not valid YAML: " + e.getMessage()));
            } catch (IOException e) {
                throw new ConfigException(file.toString(), List.of("cannot read: " + e));
            }
            Function<String, Origin> originOf = path -> {
                Integer line = parsed.lines().get(path);
                return line == null ? new Origin(file.toString(), 0) : new Origin(file + " line " + line, line);
            };
            for (YamlDocument.LineProblem p : parsed.problems()) {
                report(new Origin(file + " line " + p.line(), p.line()), p.message());
            }
            JsonNode user = parsed.tree();
            if (user == null || user.isNull()) {
                return;
            }
            if (!user.isObject()) {
                report(new Origin(file + " line 1", 1), "the top level must be a mapping of keys, got a " + user.getNodeType());
                return;
            }
            merge(defaults, (ObjectNode) tree, (ObjectNode) user, "", originOf, parsed.texts());
        }

        void addOverride(String override, int index) {
            Origin origin = new Origin("--set " + override, OVERRIDE_RANK + index);
            int eq = override.indexOf('=');
            if (eq <= 0) {
                report(origin, "must look like key=value");
                return;
            }
            String key = override.substring(0, eq).trim();
            String text = override.substring(eq + 1);
            YamlDocument.Parsed value;
            try {
                value = text.isEmpty() ? null : YamlDocument.parse(text);
            } catch (YamlDocument.SyntaxError e) {
                report(origin, "the value is not valid YAML: " + e.getMessage());
                return;
            }
            if (value != null && !value.problems().isEmpty()) {
                value.problems().forEach(p -> report(origin, p.message()));
                return;
            }
            // The override stands for the one-key tree {a: {b: value}}, merged by the same rules as a file.
            ObjectNode root = JSON.createObjectNode();
            ObjectNode cursor = root;
            String[] path = key.split("\\.");
            for (int i = 0; i < path.length - 1; i++) {
                cursor = cursor.putObject(path[i]);
            }
            cursor.set(path[path.length - 1], value == null || value.tree() == null
                    ? JSON.getNodeFactory().textNode("") : value.tree());
            Map<String, String> fullTexts = new HashMap<>();
            if (value != null) {
                value.texts().forEach((relative, t) -> fullTexts.put(relative.isEmpty() ? key
                        : relative.startsWith("[") ? key + relative : key + "." + relative, t));
            }
            merge(defaults, (ObjectNode) tree, root, "", p -> origin, fullTexts);
        }

        /** Copies user keys onto target; a key absent from the defaults is a problem. Lists replace wholesale. */
        private void merge(JsonNode known, ObjectNode target, ObjectNode user, String prefix,
                           Function<String, Origin> originOf, Map<String, String> userTexts) {
            for (Iterator<Map.Entry<String, JsonNode>> it = user.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                String path = YamlDocument.child(prefix, field.getKey());
                JsonNode value = field.getValue();
                JsonNode standard = known.get(field.getKey());
                if (standard == null) {
                    List<String> siblings = new ArrayList<>();
                    known.fieldNames().forEachRemaining(siblings::add);
                    report(originOf.apply(path), "unknown key '" + path + "'"
                            + KeySuggestion.among(field.getKey(), siblings, defaultPaths));
                } else if (standard.isObject() && value.isObject()) {
                    origins.put(path, originOf.apply(path));
                    merge(standard, (ObjectNode) target.get(field.getKey()), (ObjectNode) value, path, originOf, userTexts);
                } else if (standard.isObject() && value.isNull()) {
                    origins.put(path, originOf.apply(path)); // an empty section (all its keys commented out) keeps its defaults
                } else if (standard.isObject()) {
                    report(originOf.apply(path), path + " must be a mapping of keys, got "
                            + (value.isArray() ? "a list" : "'" + userTexts.getOrDefault(path, value.asText()) + "'"));
                } else {
                    target.set(field.getKey(), value);
                    forget(path);
                    recordOrigins(value, path, originOf);
                    userTexts.forEach((p, t) -> {
                        if (p.equals(path) || isAncestor(path, p)) {
                            texts.put(p, t);
                        }
                    });
                }
            }
        }

        /** A replaced value takes the origins and texts of the one before it along. */
        private void forget(String path) {
            origins.keySet().removeIf(p -> p.equals(path) || isAncestor(path, p));
            texts.keySet().removeIf(p -> p.equals(path) || isAncestor(path, p));
        }

        private void recordOrigins(JsonNode value, String path, Function<String, Origin> originOf) {
            origins.put(path, originOf.apply(path));
            if (value.isObject()) {
                value.fields().forEachRemaining(e -> recordOrigins(e.getValue(), YamlDocument.child(path, e.getKey()), originOf));
            } else if (value.isArray()) {
                for (int i = 0; i < value.size(); i++) {
                    recordOrigins(value.get(i), path + "[" + i + "]", originOf);
                }
            }
        }

        private void collectPaths(JsonNode node, String prefix) {
            node.fields().forEachRemaining(e -> {
                String path = YamlDocument.child(prefix, e.getKey());
                defaultPaths.add(path);
                if (e.getValue().isObject()) {
                    collectPaths(e.getValue(), path);
                }
            });
        }

        <T> T bind(Class<T> type, String source) {
            ShapeCheck.Result shape = ShapeCheck.check(type, tree, defaults, texts);
            List<String> malformed = new ArrayList<>();
            for (ShapeCheck.Finding f : shape.findings()) {
                if (f.replaced()) {
                    malformed.add(f.path());
                }
                report(originOf(f.path()), f.message());
            }
            T value = null;
            try {
                value = JSON.treeToValue(shape.bindable(), type);
            } catch (JsonProcessingException e) {
                // ShapeCheck admits only what binds; this is the backstop, not the way errors are found.
                String path = jacksonPath(e);
                if (!related(path, malformed)) {
                    report(originOf(path), (path.isEmpty() ? "" : path + ": ") + e.getOriginalMessage());
                }
            }
            if (value instanceof Validatable v) {
                for (String problem : v.problems()) {
                    Matcher m = LEADING_KEY.matcher(problem);
                    String key = m.find() ? m.group() : "";
                    // A malformed key was checked with its default in its place (or left out): say nothing more about it.
                    if (!related(key, malformed)) {
                        report(originOf(key), problem);
                    }
                }
            }
            if (!problems.isEmpty()) {
                problems.sort(Comparator.comparingInt(Problem::rank));
                throw new ConfigException(source, problems.stream().map(Problem::text).toList());
            }
            return value;
        }

        /** Where the value at {@code path} (or its nearest set ancestor: the list item, the section) came from. */
        private Origin originOf(String path) {
            for (String p = path; !p.isEmpty(); p = parent(p)) {
                Origin o = origins.get(p);
                if (o != null) {
                    return o;
                }
            }
            return null;
        }

        private void report(Origin origin, String message) {
            problems.add(origin == null ? new Problem(Integer.MAX_VALUE, message)
                    : new Problem(origin.rank(), origin.label() + ": " + message));
        }
    }

    /** Whether {@code key} is one of the malformed paths, inside one, or holds one. */
    private static boolean related(String key, List<String> malformed) {
        return !key.isEmpty() && malformed.stream().anyMatch(p -> p.equals(key) || isAncestor(p, key) || isAncestor(key, p));
    }

    private static String parent(String path) {
        int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return cut < 0 ? "" : path.substring(0, cut);
    }

    private static boolean isAncestor(String ancestor, String path) {
        return ancestor.isEmpty() || path.startsWith(ancestor + ".") || path.startsWith(ancestor + "[");
    }

    private static String jacksonPath(JsonProcessingException e) {
        StringBuilder key = new StringBuilder();
        if (e instanceof JsonMappingException m) {
            for (JsonMappingException.Reference r : m.getPath()) {
                if (r.getFieldName() != null) {
                    if (key.length() > 0) key.append('.');
                    key.append(r.getFieldName());
                } else if (r.getIndex() >= 0) {
                    key.append('[').append(r.getIndex()).append(']');
                }
            }
        }
        return key.toString();
    }

    private static ObjectMapper strict(ObjectMapper mapper) {
        SimpleModule lowercaseEnums = new SimpleModule("lowercase-enums");
        lowercaseEnums.addSerializer(Enum.class, new StdSerializer<>(Enum.class) {
            @Override
            public void serialize(Enum value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                gen.writeString(ConfigEnums.name(value));
            }
        });
        return mapper
                .registerModule(lowercaseEnums)
                .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }
}
