package org.agentflan.dataprep.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ToolListTest {
    @Test
    void findsTheFunctionArrayInEachSourcesSystemPrompt() {
        // ToolBench/ToolLLaMA: after the functions header, with the ReAct instruction before it.
        assertEquals(List.of("get_weather", "Finish"), ToolList.names("You are AutoGPT." + ReActPrompt.FORMAT_INSTRUCTION
                + ReActPrompt.FUNCTIONS_HEADER + "[{\"name\":\"get_weather\",\"parameters\":{\"required\":[\"city\"]}},"
                + "{\"name\":\"Finish\"}]"));
        // The release: a pretty array followed by more instructions (the text after the array is not JSON).
        assertEquals(List.of("current_weather"), ToolList.names("Each tool is described by its name:\n[{\"name\": "
                + "\"current_weather\", \"parameters\": {\"type\": \"object\"}}]\nTo use a tool, please use [this] format"));
        // An earlier bracket that is not a function list is skipped.
        assertEquals(List.of("a"), ToolList.names("Options [x] and [1, 2]; tools: [{\"name\": \"a\"}]"));
    }

    @Test
    void noToolList() {
        assertEquals(List.of(), ToolList.names("You are a helpful assistant."));
        assertEquals(List.of(), ToolList.names(null));
        assertEquals(List.of(), ToolList.names("tools: []"));
        assertEquals(List.of(), ToolList.names("tools: [{\"name\": \"a\"}, {\"description\": \"no name\"}]"));
        assertEquals(List.of(), ToolList.names("broken: [{\"name\": \"a\""));
    }
}
