package org.agentflan.dataprep.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;

/**
 * A ToolBench answer tree to ReAct conversations, the ToolLLaMA convention (docs/method.md section 2): one conversation
 * per {@code train_messages} entry, id {@code <file>#<entry index>}. The system message gets the format
 * instruction and the function list; user messages pass through; function results become user turns starting
 * with {@value FromValueParser#OBSERVATION_PREFIX}; an assistant message without a call is a thought carried into
 * the next assistant turn; one with a call becomes {@code Thought: ..\nAction: ..\nAction Input: ..}.
 * A thought left over at the end of an entry (that step's target) becomes a {@code Thought: ..} turn of its own.
 */
final class ToolBenchRawParser implements RecordParser {
    private static final long serialVersionUID = 1L;

    @Override
    public void parse(JsonNode root, RawRecord record, RecordSink sink) throws BadRecordException {
        Json.requireObject(root, "");
        JsonNode answer = Json.required(root, "answer_generation", "");
        Json.requireObject(answer, "answer_generation");
        JsonNode valid = Json.required(answer, "valid_data", "answer_generation");
        if (!valid.isBoolean()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "field 'answer_generation.valid_data' must be a boolean, got " + Json.kind(valid));
        }
        if (!valid.booleanValue()) {
            throw new BadRecordException(RejectKind.MARKED_INVALID, "answer_generation.valid_data is false (ToolBench marks this answer tree"
                    + " unusable; skipped as the ToolLLaMA preprocessing does)");
        }
        JsonNode functions = Json.requiredArray(answer, "function", "answer_generation");
        JsonNode entries = Json.requiredArray(answer, "train_messages", "answer_generation");
        if (entries.isEmpty()) {
            throw new BadRecordException(RejectKind.EMPTY_CONVERSATION, "field 'answer_generation.train_messages' is empty (no trajectory to train on)");
        }
        String systemSuffix = ReActPrompt.FORMAT_INSTRUCTION + ReActPrompt.FUNCTIONS_HEADER + Json.compact(functions);
        for (int i = 0; i < entries.size(); i++) {
            String path = "answer_generation.train_messages[" + i + "]";
            try {
                JsonNode entry = entries.get(i);
                if (!entry.isArray()) {
                    throw new BadRecordException(RejectKind.BAD_FIELD, "'" + path + "' must be an array of messages, got " + Json.kind(entry));
                }
                List<Turn> turns = toReAct(entry, path, systemSuffix);
                sink.accept(i, RecordParser.checked(record.file() + "#" + i, record.source(), turns, path));
            } catch (BadRecordException e) {
                sink.reject(i, e.kind(), e.getMessage());
            }
        }
    }

    private static List<Turn> toReAct(JsonNode messages, String path, String systemSuffix) throws BadRecordException {
        List<Turn> turns = new ArrayList<>();
        String carriedThought = null;
        for (int m = 0; m < messages.size(); m++) {
            String at = path + "[" + m + "]";
            JsonNode message = messages.get(m);
            Json.requireObject(message, at);
            String role = Json.requiredText(message, "role", at);
            switch (role) {
                case "system" -> turns.add(Turn.system(Json.requiredText(message, "content", at) + systemSuffix));
                case "user" -> turns.add(Turn.user(Json.requiredText(message, "content", at)));
                case "function" -> turns.add(Turn.user(FromValueParser.OBSERVATION_PREFIX
                        + Json.requiredText(message, "content", at)));
                case "assistant" -> {
                    String thought = join(carriedThought, optionalText(message, "content", at));
                    JsonNode call = message.get("function_call");
                    if (call == null || call.isNull()) {
                        carriedThought = thought;
                    } else {
                        Json.requireObject(call, at + ".function_call");
                        String name = Json.requiredText(call, "name", at + ".function_call");
                        JsonNode args = Json.required(call, "arguments", at + ".function_call");
                        String arguments = args.isTextual() ? args.textValue() : Json.compact(args);
                        turns.add(Turn.assistant("Thought: " + (thought == null ? "" : thought)
                                + "\nAction: " + name + "\nAction Input: " + arguments));
                        carriedThought = null;
                    }
                }
                default -> throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + at + ".role' has unknown role '" + role
                        + "' (expected system, user, assistant or function)");
            }
        }
        if (carriedThought != null) {
            turns.add(Turn.assistant("Thought: " + carriedThought));
        }
        return turns;
    }

    private static String optionalText(JsonNode object, String field, String path) throws BadRecordException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + Json.join(path, field) + "' must be a string or null, got "
                    + Json.kind(value));
        }
        return value.textValue().isBlank() ? null : value.textValue().strip();
    }

    private static String join(String a, String b) {
        if (a == null) {
            return b;
        }
        return b == null ? a : a + "\n" + b;
    }
}
