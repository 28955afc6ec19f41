package org.agentflan.dataprep.source;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.util.List;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.util.StableHash;

/** Turns one parsed input record into canonical conversations; throws {@link BadRecordException} to reject it whole. */
interface RecordParser extends Serializable {

    void parse(JsonNode root, RawRecord record, RecordSink sink) throws BadRecordException;

    static RecordParser forFormat(SourceFormat format) {
        return switch (format) {
            case AGENT_FLAN -> new AgentFlanParser();
            case AGENT_INSTRUCT, TOOLLLAMA, SHAREGPT -> new FromValueParser(format);
            case TOOLBENCH_RAW -> new ToolBenchRawParser();
        };
    }

    /**
     * An id for a record that has none: a hash of the file name relative to the source path and the record's
     * canonical JSON, so it survives re-partitioning, re-ordering and moving the data folder.
     */
    static String contentId(RawRecord record, JsonNode root) {
        return StableHash.hex(16, record.file(), Json.canonical(root));
    }

    /** The final checks every conversation passes: non-empty and at least one turn to learn from. */
    static Conversation checked(String id, String source, List<Turn> turns, String field) throws BadRecordException {
        if (turns.isEmpty()) {
            throw new BadRecordException(RejectKind.EMPTY_CONVERSATION, "empty conversation: field '" + field + "' has no turns");
        }
        if (turns.stream().noneMatch(Turn::isLoss)) {
            throw new BadRecordException(RejectKind.NO_LOSS_TURN, "no turn carries loss in '" + field + "' (nothing to train on)");
        }
        return new Conversation(id, source, turns);
    }
}
