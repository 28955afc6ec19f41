package org.agentflan.dataprep.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;

/** The Agent-FLAN release schema; {@code loss} is honoured per turn and defaults to true for assistant turns only. */
final class AgentFlanParser implements RecordParser {
    private static final long serialVersionUID = 1L;

    @Override
    public void parse(JsonNode root, RawRecord record, RecordSink sink) throws BadRecordException {
        Json.requireObject(root, "");
        String id = Json.optionalId(root);
        JsonNode conversation = Json.requiredArray(root, "conversation", "");
        List<Turn> turns = new ArrayList<>();
        for (int i = 0; i < conversation.size(); i++) {
            String path = "conversation[" + i + "]";
            JsonNode turn = conversation.get(i);
            Json.requireObject(turn, path);
            String role = Json.requiredText(turn, "role", path);
            if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
                throw new BadRecordException(RejectKind.BAD_FIELD, "field '" + path + ".role' has unknown role '" + role
                        + "' (expected system, user or assistant)");
            }
            String content = Json.requiredText(turn, "content", path);
            boolean loss = Json.optionalBoolean(turn, "loss", path, role.equals("assistant"));
            turns.add(new Turn(role, content, loss, null));
        }
        sink.accept(record.line(), RecordParser.checked(id != null ? id : RecordParser.contentId(record, root), record.source(), turns,
                "conversation"));
    }
}
