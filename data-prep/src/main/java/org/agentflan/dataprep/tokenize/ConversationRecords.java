package org.agentflan.dataprep.tokenize;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.source.ToolList;
import org.agentflan.dataprep.transform.ReActStep;
import org.agentflan.format.ConversationRecord;

/** A transformed conversation as {@code prepare} keeps it beside the shards ({@link ConversationRecord}). */
public final class ConversationRecords {
    private ConversationRecords() {}

    /**
     * @param negativeSources the sources whose conversations are negative samples
     *                        ({@code NegativeSamplerConfig#negativeSources})
     */
    public static ConversationRecord of(Conversation c, Collection<String> negativeSources) {
        List<ConversationRecord.Turn> turns = new ArrayList<>();
        List<String> tools = null;
        boolean react = false;
        for (Turn t : c.getTurns()) {
            turns.add(new ConversationRecord.Turn(t.getRole(), t.getContent(), t.isLoss(), t.getCapability()));
            if (tools == null && t.getRole().equals("system")) {
                tools = ToolList.names(t.getContent()); // the first system turn holds the tool list
            }
            react |= t.getRole().equals("assistant") && ReActStep.parse(t.getContent()).isPresent();
        }
        return new ConversationRecord(c.getId(), c.getSource(), negativeSources.contains(c.getSource()),
                react ? ConversationRecord.REACT : ConversationRecord.GENERAL, tools == null ? List.of() : tools, turns);
    }
}
