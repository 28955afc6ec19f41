package org.agentflan.launch.eval;

import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.source.ReActPrompt;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.ConversationRecord;

/**
 * After Agent-H: on negative samples (tools listed but not needed, or no tools at all), does the model call a tool
 * anyway in its first reply? Each sample is asked twice, greedily: under a ReAct prompt (its system turn without any
 * ReAct instruction, then {@link ReActPrompt#FORMAT_INSTRUCTION}, the instruction ToolBench conversations are trained
 * with) and under a general prompt (the system turn without a ReAct instruction). A reply calls a tool when
 * {@link ToolCallDetector#find} finds a call in either form. Lower rates are better.
 */
final class HallucinationProbe {
    /** One negative sample's two prompts and its tool list. */
    record Item(String id, List<String> tools, List<ChatTurn> react, List<ChatTurn> general) {}

    /** @param skipped samples whose prompt leaves the model no room to answer (not counted in the rates) */
    record Result(int samples, double toolCallRateReact, double toolCallRateGeneral, int skipped) {}

    private HallucinationProbe() {}

    /** The negatives of the split that have a user turn, in file order, at most {@code max}. */
    static List<Item> items(List<ConversationRecord> records, EvalSplit split, int max) {
        List<Item> items = new ArrayList<>();
        for (ConversationRecord r : records) {
            if (items.size() >= max) {
                break;
            }
            if (!r.negative() || !split.contains(r.id())) {
                continue;
            }
            String system = null;
            String user = null;
            for (ConversationRecord.Turn t : r.conversation()) {
                if (system == null && user == null && t.role().equals(ChatTurn.SYSTEM)) {
                    system = ReActPrompt.withoutFormatInstruction(t.content());
                } else if (t.role().equals(ChatTurn.USER)) {
                    user = t.content();
                    break;
                }
            }
            if (user == null) {
                continue;
            }
            List<ChatTurn> general = new ArrayList<>();
            if (system != null) {
                general.add(ChatTurn.system(system));
            }
            general.add(ChatTurn.user(user));
            String reactSystem = ((system == null ? "" : system) + ReActPrompt.FORMAT_INSTRUCTION).strip();
            items.add(new Item(r.id(), r.tools(), List.of(ChatTurn.system(reactSystem), ChatTurn.user(user)), general));
        }
        return items;
    }

    static Result score(List<Item> items, List<String> reactReplies, List<String> generalReplies) {
        int samples = 0;
        int skipped = 0;
        int react = 0;
        int general = 0;
        for (int i = 0; i < items.size(); i++) {
            if (reactReplies.get(i) == null || generalReplies.get(i) == null) {
                skipped++;
                continue;
            }
            samples++;
            react += ToolCallDetector.find(reactReplies.get(i), items.get(i).tools()).isPresent() ? 1 : 0;
            general += ToolCallDetector.find(generalReplies.get(i), items.get(i).tools()).isPresent() ? 1 : 0;
        }
        return new Result(samples, rate(react, samples), rate(general, samples), skipped);
    }

    static double rate(int count, int samples) {
        return samples == 0 ? Double.NaN : count / (double) samples;
    }
}
