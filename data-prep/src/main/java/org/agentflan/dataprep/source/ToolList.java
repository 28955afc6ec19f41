package org.agentflan.dataprep.source;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The tool names a system prompt offers. Every source that lists tools does it as a JSON array of function
 * schemas inside the system text: ToolBench and ToolLLaMA after {@link ReActPrompt#FUNCTIONS_HEADER}, the
 * Agent-FLAN release after "parameters:\n", the built negatives after their {@code system_prompt}. The list is the
 * first {@code [} in the text that opens a non-empty JSON array whose elements are all objects with a string
 * {@code name}; a system turn without one lists no tools.
 */
public final class ToolList {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ToolList() {}

    /** The names, in list order; empty when the text lists no tools. */
    public static List<String> names(String systemText) {
        if (systemText == null) {
            return List.of();
        }
        for (int at = systemText.indexOf('['); at >= 0; at = systemText.indexOf('[', at + 1)) {
            List<String> names = namesAt(systemText, at);
            if (!names.isEmpty()) {
                return names;
            }
        }
        return List.of();
    }

    /** The names of the array of function schemas starting at {@code at}, or empty when there is none. */
    private static List<String> namesAt(String text, int at) {
        JsonNode array;
        try (JsonParser parser = JSON.getFactory().createParser(text.substring(at))) {
            array = JSON.readTree(parser); // reads one value and stops: the text after the array is not parsed
        } catch (IOException e) {
            return List.of();
        }
        if (array == null || !array.isArray() || array.isEmpty()) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        for (JsonNode function : array) {
            JsonNode name = function.get("name");
            if (!function.isObject() || name == null || !name.isTextual() || name.textValue().isBlank()) {
                return List.of();
            }
            names.add(name.textValue());
        }
        return names;
    }
}
