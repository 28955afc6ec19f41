package org.agentflan.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One YAML document read into a Jackson tree, keeping what the tree forgets and error messages need: the line of
 * every key and list item (by dotted path, {@code optimizer.lr}, {@code sources[0].format}) and the text of every
 * scalar as written ({@code 1e400}, not {@code Infinity}). Duplicate keys and aliases are problems here, because the
 * tree could hold only one of the values.
 */
final class YamlDocument {
    private static final YAMLFactory FACTORY = new YAMLFactory();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** YAML's spellings of infinity and not-a-number, which Jackson's YAML parser tags as floats but cannot convert. */
    private static final Pattern NON_FINITE = Pattern.compile("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");

    /** A problem at a line (1-based) of the document; the caller adds the file name or the {@code --set} it came from. */
    record LineProblem(int line, String message) {}

    /** The tree (null for an empty document), where each path was written, and the problems found while reading. */
    record Parsed(JsonNode tree, Map<String, Integer> lines, Map<String, String> texts, List<LineProblem> problems) {}

    /** Thrown for text that is not YAML at all; nothing of it can be used. */
    static final class SyntaxError extends Exception {
        SyntaxError(String message) {
            super(message);
        }
    }

    private final Map<String, Integer> lines = new HashMap<>();
    private final Map<String, String> texts = new HashMap<>();
    private final List<LineProblem> problems = new ArrayList<>();

    private YamlDocument() {}

    static Parsed parse(String yaml) throws SyntaxError {
        YamlDocument doc = new YamlDocument();
        try (JsonParser parser = FACTORY.createParser(yaml)) {
            JsonToken first = parser.nextToken();
            JsonNode tree = first == null ? null : doc.value(parser, "");
            if (first != null && tree == null) {
                tree = NODES.nullNode(); // the whole document was an alias
            }
            if (parser.nextToken() != null) {
                doc.problems.add(new LineProblem(line(parser), "a second YAML document (after '---') starts here; a config is one document"));
            }
            return new Parsed(tree, doc.lines, doc.texts, doc.problems);
        } catch (JsonProcessingException e) {
            throw new SyntaxError(e.getOriginalMessage() + (e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr()));
        } catch (IOException e) {
            throw new IllegalStateException("reading YAML from a string failed", e);
        }
    }

    /** Joins a parent path and a key: {@code ""+"seed" = "seed"}, {@code "model"+"init" = "model.init"}. */
    static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private JsonNode value(JsonParser p, String path) throws IOException {
        if (((YAMLParser) p).isCurrentAlias()) {
            problems.add(new LineProblem(line(p), "'" + path + "' uses the YAML alias *" + p.getText()
                    + "; aliases are not supported in configs, write the value out"));
            return null; // reported; left out so that nothing else is said about it
        }
        return switch (p.currentToken()) {
            case START_OBJECT -> mapping(p, path);
            case START_ARRAY -> list(p, path);
            case VALUE_NULL -> scalar(path, p.getText(), NODES.nullNode());
            case VALUE_TRUE, VALUE_FALSE -> scalar(path, p.getText(), NODES.booleanNode(p.getBooleanValue()));
            case VALUE_STRING -> scalar(path, p.getText(), NODES.textNode(p.getText()));
            case VALUE_NUMBER_INT -> scalar(path, p.getText(), integer(p));
            case VALUE_NUMBER_FLOAT -> scalar(path, p.getText(), decimal(p));
            default -> throw new IllegalStateException("unexpected YAML token " + p.currentToken() + " at line " + line(p));
        };
    }

    private JsonNode mapping(JsonParser p, String path) throws IOException {
        ObjectNode node = NODES.objectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            int line = line(p);
            String keyPath = child(path, key);
            p.nextToken();
            JsonNode value = value(p, keyPath);
            if (value == null) {
                continue;
            }
            if (node.has(key)) {
                problems.add(new LineProblem(line, "duplicate key '" + keyPath + "' (first at line " + lines.get(keyPath)
                        + "); a key may appear once per mapping"));
            } else {
                node.set(key, value);
                lines.put(keyPath, line);
            }
        }
        return node;
    }

    private JsonNode list(JsonParser p, String path) throws IOException {
        var node = NODES.arrayNode();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            String itemPath = path + "[" + node.size() + "]";
            lines.put(itemPath, line(p));
            JsonNode item = value(p, itemPath);
            if (item != null) {
                node.add(item);
            }
        }
        return node;
    }

    private JsonNode scalar(String path, String text, JsonNode node) {
        texts.put(path, text);
        return node;
    }

    private static JsonNode integer(JsonParser p) throws IOException {
        return switch (p.getNumberType()) {
            case INT -> NODES.numberNode(p.getIntValue());
            case LONG -> NODES.numberNode(p.getLongValue());
            default -> NODES.numberNode(p.getBigIntegerValue());
        };
    }

    /** Kept as a double even when it overflows ({@code 1e400} is infinite), so the check can name it; never dropped. */
    private static JsonNode decimal(JsonParser p) throws IOException {
        String text = p.getText();
        if (NON_FINITE.matcher(text).matches()) {
            return NODES.numberNode(text.contains("nan") || text.contains("NaN") || text.contains("NAN") ? Double.NaN
                    : text.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY);
        }
        return NODES.numberNode(p.getDoubleValue());
    }

    private static int line(JsonParser p) {
        return p.currentTokenLocation().getLineNr();
    }
}
