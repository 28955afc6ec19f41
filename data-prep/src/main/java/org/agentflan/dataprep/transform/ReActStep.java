package org.agentflan.dataprep.transform;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One assistant turn in ReAct form, split into its parts. Recognised forms:
 * {@code Thought: ..\nAction: ..\nAction Input: ..} (ToolLLaMA; a leading newline is allowed),
 * {@code Thought: ..\nFinal Answer: ..}, AgentInstruct's thought-then-action forms ({@code Think: ..\nAct: ..},
 * {@code Thought: ..\nAction: search[..]}, {@code THOUGHT: ..\nACTION: ..}; the action text is kept whole, with
 * {@code actionInput} null), and a bare {@code Thought: ..} (a thought whose call comes next turn).
 * A {@code Finish} action carries the final answer in its JSON input, as ToolBench's Finish function does.
 */
public record ReActStep(String thought, String action, String actionInput, String finalAnswer) {

    private static final Pattern CALL = Pattern.compile(
            "\\s*Thought:[ \\t]*(.*?)\\s*\\nAction:[ \\t]*([^\\n]*?)\\s*\\nAction Input:[ \\t]*(.*?)\\s*", Pattern.DOTALL);
    private static final Pattern ANSWER = Pattern.compile(
            "\\s*Thought:[ \\t]*(.*?)\\s*\\nFinal Answer:[ \\t]*(.*?)\\s*", Pattern.DOTALL);
    private static final Pattern ACT = Pattern.compile(
            "\\s*(?:Thought|Think|THOUGHT):[ \\t]*(.*?)\\s*\\n\\s*(?:Act|Action|ACTION):[ \\t]*(.*?)\\s*", Pattern.DOTALL);
    private static final Pattern THOUGHT_ONLY = Pattern.compile("\\s*Thought:[ \\t]*(.*?)\\s*", Pattern.DOTALL);

    public static Optional<ReActStep> parse(String content) {
        if (content == null || !startsWithThought(content)) {
            return Optional.empty(); // most turns are not ReAct; four regex matches each cost more than this check
        }
        Matcher m = CALL.matcher(content);
        if (m.matches() && !m.group(2).isEmpty()) {
            return Optional.of(new ReActStep(m.group(1), m.group(2), m.group(3), null));
        }
        m = ANSWER.matcher(content);
        if (m.matches()) {
            return Optional.of(new ReActStep(m.group(1), null, null, m.group(2)));
        }
        m = ACT.matcher(content);
        if (m.matches() && !m.group(2).isEmpty() && !m.group(2).contains("\nAction Input:")) {
            return Optional.of(new ReActStep(m.group(1), m.group(2), null, null));
        }
        m = THOUGHT_ONLY.matcher(content);
        if (m.matches() && !m.group(1).contains("\nAction:")) {
            return Optional.of(new ReActStep(m.group(1), null, null, null));
        }
        return Optional.empty();
    }

    /** Whether the text after leading whitespace ({@code \s}, as in the patterns) opens a thought. */
    private static boolean startsWithThought(String content) {
        int i = 0;
        while (i < content.length() && " \t\n\u000B\f\r".indexOf(content.charAt(i)) >= 0) {
            i++;
        }
        return content.startsWith("Thought:", i) || content.startsWith("Think:", i) || content.startsWith("THOUGHT:", i);
    }

    public boolean isFinish() {
        return "Finish".equals(action);
    }
}
