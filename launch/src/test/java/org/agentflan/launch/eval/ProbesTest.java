package org.agentflan.launch.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.agentflan.dataprep.source.ReActPrompt;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.ConversationRecord.Turn;
import org.junit.jupiter.api.Test;

/** Which prompts the probes ask and how they score replies, on hand-written conversation records. */
class ProbesTest {
    private static final EvalSplit ALL = EvalSplit.of(EvalSplit.ALL, null, Path.of("data"));
    private static final List<String> TOOLS = List.of("get_weather", "Finish");
    private static final String SYSTEM = "Tools: [{\"name\": \"get_weather\"}, {\"name\": \"Finish\"}]";

    private static Turn t(String role, String content) {
        return new Turn(role, content, role.equals("assistant"), null);
    }

    private static final ConversationRecord REACT = new ConversationRecord("r", "tb", false, ConversationRecord.REACT,
            TOOLS, List.of(t("system", SYSTEM + ReActPrompt.FORMAT_INSTRUCTION), t("user", "Weather in Oslo?"),
            t("assistant", "Thought: look it up\nAction: get_weather\nAction Input: {\"city\": \"Oslo\"}"),
            t("user", "Observation: 3 C"),
            t("assistant", "Thought: done\nAction: Finish\nAction Input: {\"return_type\": \"give_answer\"}")));
    private static final ConversationRecord CHAT = new ConversationRecord("c", "tb", false, ConversationRecord.GENERAL,
            TOOLS, List.of(t("system", SYSTEM), t("user", "Weather in Rome?"), t("assistant", "I will look it up."),
            t("user", "Which tool?"), t("assistant", "get_weather"), t("user", "Arguments?"),
            t("assistant", "{\"city\": \"Rome\", \"unit\": \"c\"}"), t("user", "Observation: 20 C"),
            t("assistant", "It is 20 C.")));
    private static final ConversationRecord NEGATIVE = new ConversationRecord("n", "neg", true,
            ConversationRecord.GENERAL, TOOLS, List.of(t("system", SYSTEM + ReActPrompt.FORMAT_INSTRUCTION),
            t("user", "Tell me a joke."), t("assistant", "Why did the chicken...")));
    private static final ConversationRecord NO_TOOLS = new ConversationRecord("m", "neg", true,
            ConversationRecord.GENERAL, List.of(), List.of(t("user", "Book a flight."), t("assistant", "I cannot.")));

    @Test
    void toolUseStepsAreTheReferenceCallsWithJsonArguments() {
        List<ToolUseProbe.Step> steps = ToolUseProbe.steps(List.of(NEGATIVE, REACT, CHAT), ALL, 10);
        assertEquals(2, steps.size(), steps.toString()); // the Finish call and the negative are no steps
        ToolUseProbe.Step react = steps.get(0);
        assertEquals("get_weather", react.name());
        assertEquals(Set.of("city"), react.keys());
        assertEquals(REACT.conversation().subList(0, 2), react.namePrompt());
        assertNull(react.argsPrompt());
        ToolUseProbe.Step chat = steps.get(1);
        assertEquals(Set.of("city", "unit"), chat.keys());
        assertEquals(CHAT.conversation().subList(0, 4), chat.namePrompt());
        assertEquals(CHAT.conversation().subList(0, 6), chat.argsPrompt()); // the reference name is in the history
        assertEquals(1, ToolUseProbe.steps(List.of(REACT, CHAT), ALL, 1).size());

        ToolUseProbe.Result result = ToolUseProbe.score(steps,
                Arrays.asList("Action: get_weather\nAction Input: {\"unit\": \"c\"}", "get_weather"),
                Arrays.asList(null, "{\"unit\": \"c\", \"city\": \"Rome\"}"));
        assertEquals(new ToolUseProbe.Result(2, 1.0, 1.0, 0.5, 0), result);
        // No call at all fails every figure; a prompt too long is skipped, not failed.
        assertEquals(new ToolUseProbe.Result(1, 0.0, 0.0, 0.0, 1), ToolUseProbe.score(steps,
                Arrays.asList("It is cold in Oslo.", null), Arrays.asList(null, "{}")));
        assertEquals(new ToolUseProbe.Result(1, 0.0, 1.0, 1.0, 1), ToolUseProbe.score(steps,
                Arrays.asList(null, "get_stock"), Arrays.asList(null, "{\"city\": 1, \"unit\": 2}")));
    }

    @Test
    void hallucinationAsksEachNegativeUnderBothPrompts() {
        List<HallucinationProbe.Item> items = HallucinationProbe.items(List.of(REACT, NEGATIVE, CHAT, NO_TOOLS), ALL, 10);
        assertEquals(List.of("n", "m"), items.stream().map(HallucinationProbe.Item::id).toList());
        HallucinationProbe.Item withTools = items.get(0);
        assertEquals(List.of(ChatTurn.system(SYSTEM + "\n"), ChatTurn.user("Tell me a joke.")), withTools.general());
        assertEquals(List.of(ChatTurn.system((SYSTEM + "\n" + ReActPrompt.FORMAT_INSTRUCTION).strip()),
                ChatTurn.user("Tell me a joke.")), withTools.react());
        HallucinationProbe.Item noTools = items.get(1);
        assertEquals(List.of(ChatTurn.user("Book a flight.")), noTools.general());
        assertEquals(ChatTurn.system(ReActPrompt.FORMAT_INSTRUCTION.strip()), noTools.react().get(0));

        HallucinationProbe.Result result = HallucinationProbe.score(items,
                List.of("Action: get_weather\nAction Input: {}", "Action: book_flight\nAction Input: {}"),
                List.of("Sure: why did...", "{\"name\": \"book_flight\"}"));
        assertEquals(new HallucinationProbe.Result(2, 1.0, 0.5, 0), result);
        assertTrue(Double.isNaN(HallucinationProbe.score(List.of(), List.of(), List.of()).toolCallRateReact()));
    }
}
