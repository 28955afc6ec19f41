package org.agentflan.dataprep.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;

/**
 * The three schemas with {@code {"id", "conversations": [{"from", "value"}]}} turns: AgentInstruct, ToolLLaMA
 * and ShareGPT. They differ only in their {@code from} values and in whether a per-turn {@code loss} is read.
 */
final class FromValueParser implements RecordParser {
    private static final long serialVersionUID = 1L;

    /** ToolLLaMA's function results become user turns marked as what they are, since the template has no tool role. */
    static final String OBSERVATION_PREFIX = "Observation: ";

    private final SourceFormat format;

    FromValueParser(SourceFormat format) {
        this.format = format;
    }

    private Map<String, String> roles() {
        return switch (format) {
            case AGENT_INSTRUCT -> Map.of("human", "user", "gpt", "assistant");
            case SHAREGPT -> Map.of("human", "user", "gpt", "assistant", "system", "system");
            case TOOLLLAMA -> Map.of("system", "system", "user", "user", "assistant", "assistant", "function", "user");
            default -> throw new IllegalStateException("not a from/value format: " + format);
        };
    }

    @Override
    public void parse(JsonNode root, RawRecord record, RecordSink sink) throws BadRecordException {
        Json.requireObject(root, "");
        String id = Json.optionalId(root);
        JsonNode conversations = Json.requiredArray(root, "conversations", "");
        Map<String, String> roles = roles();
        List<Turn> turns = new ArrayList<>();
        for (int i = 0; i < conversations.size(); i++) {
            String path = "conversations[" + i + "]";
            JsonNode turn = conversations.get(i);
            Json.requireObject(turn, path);
            String from = Json.requiredText(turn, "from", path);
            String role = roles.get(from);
            if (role == null) {
                throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + path + ".from' has unknown value '" + from + "' (expected one of "
                        + String.join(", ", roles.keySet().stream().sorted().toList()) + ")");
            }
            String value = Json.requiredText(turn, "value", path);
            boolean assistant = role.equals("assistant");
            // Only AgentInstruct carries a per-turn loss; elsewhere the convention is loss on assistant turns.
            boolean loss = format == SourceFormat.AGENT_INSTRUCT
                    ? Json.optionalBoolean(turn, "loss", path, assistant) : assistant;
            String content = from.equals("function") ? OBSERVATION_PREFIX + value : value;
            turns.add(new Turn(role, content, loss, null));
        }
        sink.accept(record.line(), RecordParser.checked(id != null ? id : RecordParser.contentId(record, root), record.source(), turns,
                "conversations"));
    }
}
