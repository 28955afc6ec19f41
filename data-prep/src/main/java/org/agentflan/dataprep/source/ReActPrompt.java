package org.agentflan.dataprep.source;

/**
 * The text the ToolBench reader appends to a system prompt: the ReAct format instruction, then the function list
 * (the ToolLLaMA convention, docs/method.md section 2). Public so that format alignment can take the ReAct instruction
 * (and ToolLLaMA's own) back out of conversations it turns into chat, and negatives can find the function list.
 */
public final class ReActPrompt {
    /** Asks for the ReAct format; only meaningful while the turns are in ReAct form. */
    public static final String FORMAT_INSTRUCTION = "\nAt each step, reply in exactly this format:\n"
            + "Thought: <your reasoning about what to do next>\n"
            + "Action: <the name of the function to call>\n"
            + "Action Input: <the arguments of the call, as a JSON object>\n";
    /** The format request inside ToolLLaMA's own system prompt (ToolBench's FORMAT_INSTRUCTIONS_SYSTEM_FUNCTION). */
    public static final String TOOLLLAMA_FORMAT_INSTRUCTION = " Your output should follow this format:\nThought:\nAction\nAction Input:\n";
    /** Precedes the JSON function list, as in ToolLLaMA's system prompts. */
    public static final String FUNCTIONS_HEADER = "Specifically, you have access to the following APIs: ";

    private ReActPrompt() {}

    /** A system prompt without the ReAct format instruction (the reader's or ToolLLaMA's), for turns in chat form. */
    public static String withoutFormatInstruction(String system) {
        return system.replace(FORMAT_INSTRUCTION, "\n").replace(TOOLLLAMA_FORMAT_INSTRUCTION, "\n");
    }
}
