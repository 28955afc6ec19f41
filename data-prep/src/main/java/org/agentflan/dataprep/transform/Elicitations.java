package org.agentflan.dataprep.transform;

import java.util.List;
import org.agentflan.dataprep.util.StableHash;

/**
 * The short user turns that elicit each decomposed assistant turn. A few phrasings per kind, picked by hash so a
 * conversation always gets the same ones and the model does not learn a single fixed cue.
 */
enum Elicitations {
    THOUGHT(List.of(
            "What do you make of this? Think about the next step.",
            "How do you plan to proceed?",
            "What is your reasoning at this point?",
            "Think about what to do next.")),
    TOOL(List.of(
            "Which tool will you call for this step?",
            "Select the API to use next.",
            "What function do you need to call now?",
            "Name the tool you will use.")),
    ARGUMENTS(List.of(
            "What arguments will you pass to it?",
            "Give the input parameters for this call.",
            "Provide the arguments for the call as JSON.",
            "With which parameters do you call it?")),
    ACTION(List.of(
            "What is your next action?",
            "What do you do now?",
            "Which action do you take?",
            "Give your next action.")),
    FINAL_ANSWER(List.of(
            "What is your final answer?",
            "Please give me the final answer.",
            "Now answer my original question.",
            "Summarize the result for me."));

    private final List<String> phrasings;

    Elicitations(List<String> phrasings) {
        this.phrasings = phrasings;
    }

    List<String> phrasings() {
        return phrasings;
    }

    String pick(long seed, String id, int turn) {
        return phrasings.get(StableHash.index(phrasings.size(), seed, "elicit", name(), id, turn));
    }
}
