package org.agentflan.trainer.inference;

/**
 * The Agent-FLAN conversation template (docs/method.md section 8) for a prompt that asks the model to answer:
 * optional system turn, one user turn, then the assistant begin marker. The two markers are single Llama-2
 * tokens: U+0D46 (id 30840) after a role tag, U+0D3F (id 30387) ending an assistant turn. The data stage renders
 * the same bytes for training; the trainer keeps its own copy so it does not depend on Spark.
 */
public final class ChatPrompt {
    /** U+0D46, the begin marker after a role tag. */
    public static final String BEGIN = "\u0D46";
    /** U+0D3F, the end of an assistant turn: generation stops here. */
    public static final String ASSISTANT_END = "\u0D3F";
    private static final String HUMAN = "<|Human|>" + BEGIN;
    private static final String ASSISTANT = "<|Assistant|>" + BEGIN;
    /** End of a system or user turn: a newline and one space. */
    private static final String TURN_END = "\n ";

    private ChatPrompt() {
    }

    /** The text to tokenize (BOS is added as a token id, not as text); {@code system} may be null. */
    public static String render(String system, String user) {
        StringBuilder text = new StringBuilder();
        if (system != null) {
            text.append(HUMAN).append(system).append(TURN_END);
        }
        text.append(HUMAN).append(user).append(TURN_END);
        text.append(ASSISTANT);
        return text.toString();
    }
}
