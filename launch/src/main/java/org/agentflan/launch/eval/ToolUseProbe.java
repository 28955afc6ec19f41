package org.agentflan.launch.eval;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.ConversationRecord;

/**
 * After T-Eval's retrieve and understand: on the split's tool calls, does the model pick the reference tool and
 * fill its arguments? A step is a reference tool call whose arguments are a JSON object, in one of two forms:
 * <ul>
 *   <li>a ReAct conversation's assistant turn with a ReAct call ({@link ToolCallDetector#react}): one greedy reply
 *       to the turns before it, whose ReAct call gives both the name and the arguments;</li>
 *   <li>a chat conversation's tool turn (exactly one of its listed tools) followed by its arguments turn (the next
 *       assistant turn, a JSON object): one reply for the name (to the turns before the tool turn), and one for the
 *       arguments (to the turns before the arguments turn, the reference name included).</li>
 * </ul>
 * Per step: {@code name_accuracy} counts a call to exactly the reference name; {@code args_json_valid} arguments that
 * parse as a JSON object; {@code args_keys_match} arguments whose keys are the reference's. A reply without a call
 * fails all three. Calls to {@code Finish} (ToolBench's answer) are not steps; negatives have none.
 */
final class ToolUseProbe {
    /** One reference call; {@code argsPrompt} is null for a ReAct step (one reply holds name and arguments). */
    record Step(String id, List<String> tools, String name, Set<String> keys, List<ChatTurn> namePrompt,
                List<ChatTurn> argsPrompt) {}

    record Result(int samples, double nameAccuracy, double argsJsonValid, double argsKeysMatch, int skipped) {}

    private ToolUseProbe() {}

    /** The split's steps in file order, at most {@code max}. */
    static List<Step> steps(List<ConversationRecord> records, EvalSplit split, int max) {
        List<Step> steps = new ArrayList<>();
        for (ConversationRecord r : records) {
            if (r.negative() || !split.contains(r.id())) {
                continue;
            }
            List<ConversationRecord.Turn> turns = r.conversation();
            for (int i = 0; i < turns.size() && steps.size() < max; i++) {
                if (!turns.get(i).role().equals(ChatTurn.ASSISTANT)) {
                    continue;
                }
                String content = turns.get(i).content();
                Optional<ToolCallDetector.Call> react = ToolCallDetector.react(content);
                if (react.isPresent()) {
                    Set<String> keys = keys(react.get().arguments());
                    if (keys != null) {
                        steps.add(new Step(r.id(), r.tools(), react.get().name(), keys, history(turns, i), null));
                    }
                    continue;
                }
                String name = content.strip();
                int args = nextAssistant(turns, i);
                if (!r.tools().contains(name) || name.equals(ToolCallDetector.FINISH) || args < 0) {
                    continue;
                }
                Set<String> keys = keys(turns.get(args).content());
                if (keys != null) {
                    steps.add(new Step(r.id(), r.tools(), name, keys, history(turns, i), history(turns, args)));
                }
            }
        }
        return steps;
    }

    /**
     * @param nameReplies  the reply to each step's {@code namePrompt} (null: prompt too long)
     * @param argsReplies  the reply to each step's {@code argsPrompt} (null for a ReAct step or a prompt too long)
     */
    static Result score(List<Step> steps, List<String> nameReplies, List<String> argsReplies) {
        int samples = 0;
        int skipped = 0;
        int names = 0;
        int valid = 0;
        int keysMatch = 0;
        for (int i = 0; i < steps.size(); i++) {
            Step step = steps.get(i);
            boolean chat = step.argsPrompt() != null;
            if (nameReplies.get(i) == null || (chat && argsReplies.get(i) == null)) {
                skipped++;
                continue;
            }
            samples++;
            Optional<ToolCallDetector.Call> call = chat ? ToolCallDetector.general(nameReplies.get(i), step.tools())
                    : ToolCallDetector.react(nameReplies.get(i));
            names += call.isPresent() && call.get().name().equals(step.name()) ? 1 : 0;
            String args = chat ? argsReplies.get(i) : call.map(ToolCallDetector.Call::arguments).orElse(null);
            Set<String> keys = keys(args);
            valid += keys != null ? 1 : 0;
            keysMatch += step.keys().equals(keys) ? 1 : 0;
        }
        return new Result(samples, HallucinationProbe.rate(names, samples), HallucinationProbe.rate(valid, samples),
                HallucinationProbe.rate(keysMatch, samples), skipped);
    }

    /** The keys of a JSON object's text, or null when it is not one. */
    static Set<String> keys(String json) {
        JsonNode object = ToolCallDetector.jsonObject(json);
        if (object == null) {
            return null;
        }
        Set<String> keys = new TreeSet<>();
        object.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    private static int nextAssistant(List<ConversationRecord.Turn> turns, int after) {
        for (int j = after + 1; j < turns.size(); j++) {
            if (turns.get(j).role().equals(ChatTurn.ASSISTANT)) {
                return j;
            }
        }
        return -1;
    }

    private static List<ChatTurn> history(List<ConversationRecord.Turn> turns, int end) {
        return List.copyOf(turns.subList(0, end));
    }
}
