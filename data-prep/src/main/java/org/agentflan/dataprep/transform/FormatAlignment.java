package org.agentflan.dataprep.transform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.Capability;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.source.ReActPrompt;
import org.agentflan.dataprep.util.StableHash;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;

/**
 * Agent-FLAN's format alignment: each ReAct assistant turn becomes separate assistant turns for the thought
 * (reasoning), the tool name (retrieval) and the arguments (understanding), the last two each elicited by a short
 * user turn; a Finish call or a {@code Final Answer:} becomes a final-answer turn (tagged reasoning: it is the
 * conclusion drawn from the observations). AgentInstruct's whole-text actions ({@code Act: bash ...},
 * {@code Action: search[..]}) become one action turn (understanding: the action and its arguments are one string
 * there, and the tool choice is mostly fixed by the task). Observations stay user turns. The ReAct format
 * instruction in the system prompt (the one the ToolBench reader adds, or ToolLLaMA's) is taken out again. The thought answers the user turn before
 * it (the query or an observation) and gets an eliciting turn only when it would follow an assistant turn.
 *
 * <p>{@code react_share} of the ReAct conversations stay in ReAct form so the model can still emit the parseable
 * format; which ones is decided by hash(seed, id), never by {@code Dataset.sample}, so it ignores partitioning.
 * The conversation id is unchanged: it is the same sample in another form.
 */
public final class FormatAlignment implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a {@code give_up_and_restart} Finish says to the user, having no final answer of its own. */
    static final String GIVE_UP_ANSWER = "I could not complete this task with the available tools, so I give up and restart.";

    private final FormatAlignmentConfig config;
    private final long seed;

    public FormatAlignment(FormatAlignmentConfig config, long seed) {
        this.config = config;
        this.seed = seed;
    }

    public Dataset<Conversation> apply(Dataset<Conversation> conversations) {
        if (!config.enabled()) {
            return conversations;
        }
        FormatAlignment self = this;
        return conversations.map((MapFunction<Conversation, Conversation>) self::align, Encoders.bean(Conversation.class));
    }

    /** Whether this conversation stays in ReAct form (the {@code react_share} draw). */
    public boolean keepsReAct(String id) {
        return StableHash.uniform(seed, "react-share", id) < config.reactShare();
    }

    Conversation align(Conversation c) {
        if (!config.sources().isEmpty() && !config.sources().contains(c.getSource())) {
            return c;
        }
        boolean hasReAct = c.getTurns().stream()
                .anyMatch(t -> t.getRole().equals("assistant") && ReActStep.parse(t.getContent()).isPresent());
        if (!hasReAct || keepsReAct(c.getId())) {
            return c;
        }
        List<Turn> out = new ArrayList<>();
        List<Turn> turns = c.getTurns();
        for (int i = 0; i < turns.size(); i++) {
            Turn turn = turns.get(i);
            ReActStep step = turn.getRole().equals("assistant") ? ReActStep.parse(turn.getContent()).orElse(null) : null;
            if (step == null) {
                out.add(turn.getRole().equals("system") ? withoutReActInstruction(turn) : turn);
                continue;
            }
            boolean loss = turn.isLoss();
            if (!step.thought().isEmpty()) {
                if (!out.isEmpty() && out.get(out.size() - 1).getRole().equals("assistant")) {
                    out.add(Turn.user(Elicitations.THOUGHT.pick(seed, c.getId(), i)));
                }
                out.add(new Turn("assistant", step.thought(), loss, Capability.REASONING.key()));
            }
            String finalAnswer = step.isFinish() ? finalAnswerOf(step.actionInput()) : step.finalAnswer();
            if (finalAnswer != null) {
                out.add(Turn.user(Elicitations.FINAL_ANSWER.pick(seed, c.getId(), i)));
                out.add(new Turn("assistant", finalAnswer, loss, Capability.REASONING.key()));
            } else if (step.action() != null && step.actionInput() == null) {
                out.add(Turn.user(Elicitations.ACTION.pick(seed, c.getId(), i)));
                out.add(new Turn("assistant", step.action(), loss, Capability.UNDERSTANDING.key()));
            } else if (step.action() != null) {
                out.add(Turn.user(Elicitations.TOOL.pick(seed, c.getId(), i)));
                out.add(new Turn("assistant", step.action(), loss, Capability.RETRIEVAL.key()));
                out.add(Turn.user(Elicitations.ARGUMENTS.pick(seed, c.getId(), i)));
                out.add(new Turn("assistant", step.actionInput(), loss, Capability.UNDERSTANDING.key()));
            }
        }
        return c.withTurns(out);
    }

    /** A system turn without the ReAct format instruction (the reader's or ToolLLaMA's): the turns are chat now. */
    private static Turn withoutReActInstruction(Turn system) {
        String content = ReActPrompt.withoutFormatInstruction(system.getContent());
        return new Turn(system.getRole(), content, system.isLoss(), system.getCapability());
    }

    /**
     * The user-facing answer of a ToolBench Finish call: {@code final_answer} for {@code give_answer}, a fixed
     * sentence for {@code give_up_and_restart}; null when the input is not the Finish JSON (then it stays a call).
     */
    static String finalAnswerOf(String finishInput) {
        try {
            JsonNode input = JSON.readTree(finishInput);
            if (input == null || !input.isObject()) {
                return null;
            }
            JsonNode answer = input.get("final_answer");
            if (answer != null && answer.isTextual() && !answer.textValue().isBlank()) {
                return answer.textValue();
            }
            JsonNode type = input.get("return_type");
            if (type != null && "give_up_and_restart".equals(type.asText())) {
                return GIVE_UP_ANSWER;
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }
}
