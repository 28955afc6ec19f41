package org.agentflan.launch.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.agentflan.launch.eval.ToolCallDetector.Call;
import org.junit.jupiter.api.Test;

/** Hand-written replies, both forms, and the near misses that must not count. */
class ToolCallDetectorTest {
    private static final List<String> TOOLS = List.of("get_weather", "get_stock_price", "Finish");

    private static Optional<Call> find(String reply) {
        return ToolCallDetector.find(reply, TOOLS);
    }

    @Test
    void reactCalls() {
        assertEquals(Optional.of(new Call("get_weather", "{\"city\": \"Oslo\"}")),
                find("Thought: The user asks for the weather.\nAction: get_weather\nAction Input: {\"city\": \"Oslo\"}"));
        // No thought, indented lines, arguments over several lines up to the next step.
        assertEquals(Optional.of(new Call("get_stock_price", "{\n  \"symbol\": \"AAPL\"\n}")),
                find("  Action:  get_stock_price \n  Action Input: {\n  \"symbol\": \"AAPL\"\n}\nObservation: 190.1"));
        // A name that is not listed is still a call (a hallucinated tool).
        assertEquals(Optional.of(new Call("book_flight", "")), find("Action: book_flight\nAction Input:"));
        // The first call of a reply that holds two.
        assertEquals("get_weather", find("Action: get_weather\nAction Input: {}\nThought: more\nAction: get_stock_price\n"
                + "Action Input: {}").orElseThrow().name());
    }

    @Test
    void generalCalls() {
        // The decomposed tool turn: exactly a listed name.
        assertEquals(Optional.of(new Call("get_weather", null)), find("  get_weather\n"));
        // A JSON function call, bare or fenced, with arguments as an object or as text.
        assertEquals(Optional.of(new Call("get_weather", "{\"city\":\"Oslo\"}")),
                find("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}"));
        assertEquals(Optional.of(new Call("lookup", "{\"q\": 1}")),
                find("```json\n{\"name\": \"lookup\", \"parameters\": \"{\\\"q\\\": 1}\"}\n```"));
        assertEquals(Optional.of(new Call("get_stock_price", null)), find("```\n{\"name\": \"get_stock_price\"}\n```"));
    }

    @Test
    void nearMissesAreNotCalls() {
        // "Action:" inside prose, or without an Action Input line right after it.
        assertEquals(Optional.empty(), find("The next Action: get_weather\nAction Input: {}"));
        assertEquals(Optional.empty(), find("Thought: I could call it.\nAction: get_weather"));
        assertEquals(Optional.empty(), find("Action: get_weather\n\nAction Input: {}"));
        assertEquals(Optional.empty(), find("Action:\nAction Input: {}"));
        // A final answer, and ToolBench's Finish (the answer function) in either form.
        assertEquals(Optional.empty(), find("Thought: I know this.\nFinal Answer: It is sunny."));
        assertEquals(Optional.empty(), find("Action: Finish\nAction Input: {\"return_type\": \"give_answer\"}"));
        assertEquals(Optional.empty(), find("Finish"));
        assertEquals(Optional.empty(), find("{\"name\": \"Finish\", \"arguments\": {}}"));
        // Mentioning a tool, a listed name inside a sentence, an unlisted bare word, JSON that is not a call.
        assertEquals(Optional.empty(), find("I would use get_weather, but you asked for a poem."));
        assertEquals(Optional.empty(), find("get_weather is not needed here."));
        assertEquals(Optional.empty(), find("Hello"));
        assertEquals(Optional.empty(), find("{\"city\": \"Oslo\"}"));
        assertEquals(Optional.empty(), find("{\"name\": \"\"}"));
        assertEquals(Optional.empty(), find("{\"name\": \"get_weather\"} and more"));
        assertEquals(Optional.empty(), ToolCallDetector.find("get_weather", List.of()));
    }

    @Test
    void argumentsObjectsAndTheirKeys() {
        assertEquals(java.util.Set.of("city", "unit"), ToolUseProbe.keys(" {\"unit\": \"c\", \"city\": \"Oslo\"} "));
        assertEquals(null, ToolUseProbe.keys("[1, 2]"));
        assertEquals(null, ToolUseProbe.keys("{\"city\": "));
        assertEquals(null, ToolUseProbe.keys("{} {}"));
        assertEquals(null, ToolUseProbe.keys(null));
    }
}
