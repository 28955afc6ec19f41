package org.agentflan.dataprep.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReActStepTest {

    @Test
    void parsesTheToolLlamaFormIncludingItsLeadingNewline() {
        assertEquals(Optional.of(new ReActStep("I will search.", "search_for_x", "{\n  \"q\": \"a\"\n}", null)),
                ReActStep.parse("\nThought: I will search.\nAction: search_for_x\nAction Input: {\n  \"q\": \"a\"\n}"));
        assertEquals(Optional.of(new ReActStep("", "x", "{}", null)), ReActStep.parse("Thought: \nAction: x\nAction Input: {}"));
    }

    @Test
    void parsesFinalAnswersAgentInstructActionsAndBareThoughts() {
        assertEquals(Optional.of(new ReActStep("Done.", null, null, "42")), ReActStep.parse("Thought: Done.\nFinal Answer: 42"));
        assertEquals(Optional.of(new ReActStep("Count them.", "bash\n\n```bash\nls | wc -l\n```", null, null)),
                ReActStep.parse("Think: Count them.\n\nAct: bash\n\n```bash\nls | wc -l\n```"));
        assertEquals(Optional.of(new ReActStep("Go.", "go to shelf 1", null, null)),
                ReActStep.parse("THOUGHT: Go.\nACTION: go to shelf 1"));
        assertEquals(Optional.of(new ReActStep("Hmm, retry.", null, null, null)), ReActStep.parse("Thought: Hmm, retry."));
    }

    @Test
    void leavesChatAlone() {
        assertTrue(ReActStep.parse("Sure! Here is a poem about the sea.").isEmpty());
        assertTrue(ReActStep.parse("My thought: Action movies are fun.").isEmpty());
        assertTrue(ReActStep.parse(null).isEmpty());
    }
}
