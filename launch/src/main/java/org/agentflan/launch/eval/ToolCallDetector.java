package org.agentflan.launch.eval;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * Finds a tool call in a model's reply, in the two forms agentflan's data teaches. Exactly these count as a call:
 * <ol>
 *   <li><b>ReAct</b> (the format instruction of {@code ReActPrompt}, and the release's ReAct samples): a line that
 *       starts with {@code Action:} (after optional spaces) and names something, directly followed by a line that
 *       starts with {@code Action Input:}. The name is the rest of the {@code Action:} line, trimmed; the arguments
 *       are the text after {@code Action Input:} up to the next line starting with {@code Observation:},
 *       {@code Thought:}, {@code Action:} or {@code Final Answer:}, or the end, trimmed.</li>
 *   <li><b>General</b> (format alignment's chat form, and JSON function calls): the whole reply, trimmed and with one
 *       surrounding code fence removed, is a JSON object with a non-empty string {@code name} (its arguments are
 *       {@code arguments}, else {@code parameters}, as text or JSON); or it is exactly one of the listed tool names
 *       (the decomposed tool turn; its arguments come in a later turn).</li>
 * </ol>
 * Not calls: {@code Action:} inside a sentence or without an {@code Action Input:} line after it, a
 * {@code Final Answer:}, a reply that merely mentions a tool, and a call to {@code Finish} (ToolBench's way of giving
 * the final answer, which format alignment turns into one). A ReAct or JSON call to a name that is not listed counts
 * (a hallucinated tool is still a call); a bare name counts only when listed, since any word could be one.
 */
public final class ToolCallDetector {
    /** A detected call; {@code arguments} is null when the reply gives none (a bare tool name). */
    public record Call(String name, String arguments) {}

    /** ToolBench's answer function: a call to it is an answer, not a tool use. */
    public static final String FINISH = "Finish";

    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final List<String> STEP_STARTS = List.of("Observation:", "Thought:", "Action:", "Final Answer:");

    private ToolCallDetector() {}

    /** The first call in the reply, in either form. */
    public static Optional<Call> find(String reply, List<String> tools) {
        Optional<Call> react = react(reply);
        return react.isPresent() ? react : general(reply, tools);
    }

    /** The first ReAct-form call of the reply. */
    public static Optional<Call> react(String reply) {
        String[] lines = reply.split("\n", -1);
        for (int i = 0; i + 1 < lines.length; i++) {
            String line = lines[i].stripLeading();
            String inputLine = lines[i + 1].stripLeading();
            if (!line.startsWith("Action:") || !inputLine.startsWith("Action Input:")) {
                continue;
            }
            String name = line.substring("Action:".length()).strip();
            if (name.isEmpty() || name.equals(FINISH)) {
                continue;
            }
            StringBuilder args = new StringBuilder(inputLine.substring("Action Input:".length()));
            for (int j = i + 2; j < lines.length && !startsStep(lines[j]); j++) {
                args.append('\n').append(lines[j]);
            }
            return Optional.of(new Call(name, args.toString().strip()));
        }
        return Optional.empty();
    }

    /** A general-form call: the whole reply is a JSON call object, or exactly one listed tool name. */
    public static Optional<Call> general(String reply, List<String> tools) {
        String text = withoutFence(reply.strip());
        if (tools.contains(text) && !text.equals(FINISH)) {
            return Optional.of(new Call(text, null));
        }
        JsonNode object = jsonObject(text);
        if (object == null) {
            return Optional.empty();
        }
        JsonNode name = object.get("name");
        if (name == null || !name.isTextual() || name.textValue().isBlank() || name.textValue().equals(FINISH)) {
            return Optional.empty();
        }
        JsonNode args = object.has("arguments") ? object.get("arguments") : object.get("parameters");
        return Optional.of(new Call(name.textValue(), args == null ? null : args.isTextual() ? args.textValue() : args.toString()));
    }

    /** The text parsed as one JSON object, or null when it is not exactly that. */
    public static JsonNode jsonObject(String text) {
        if (text == null) {
            return null;
        }
        String t = text.strip();
        if (!t.startsWith("{") || !t.endsWith("}")) {
            return null;
        }
        try {
            JsonNode node = JSON.readTree(t);
            return node != null && node.isObject() ? node : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean startsStep(String line) {
        String l = line.stripLeading();
        return STEP_STARTS.stream().anyMatch(l::startsWith);
    }

    /** {@code ```json\n...\n```} (or without a language) to its content; other text as it is. */
    private static String withoutFence(String text) {
        if (!text.startsWith("```") || !text.endsWith("```") || text.length() < 6) {
            return text;
        }
        String inner = text.substring(3, text.length() - 3);
        int newline = inner.indexOf('\n');
        String firstLine = newline < 0 ? "" : inner.substring(0, newline);
        return (firstLine.isBlank() || firstLine.strip().matches("[A-Za-z]+") ? inner.substring(newline + 1) : inner).strip();
    }
}
