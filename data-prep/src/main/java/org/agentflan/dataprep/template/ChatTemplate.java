package org.agentflan.dataprep.template;

import java.util.List;
import org.agentflan.dataprep.model.Turn;

/**
 * The Agent-FLAN conversation template (docs/method.md section 8). Each turn renders as begin + content + end; the
 * markers use two Malayalam vowel signs that are single Llama-2 tokens (U+0D46 = id 30840, U+0D3F = id 30387).
 * A loss turn contributes its content and its end marker to the loss, so the model learns to stop; begin
 * markers and non-loss turns never carry loss.
 */
public final class ChatTemplate {
    /** Recorded in the manifest so the trainer can tell which template built a corpus. */
    public static final String NAME = "agent-flan";

    public static final String HUMAN_BEGIN = "<|Human|>\u0D46";
    public static final String ASSISTANT_BEGIN = "<|Assistant|>\u0D46";
    public static final String HUMAN_END = "\n ";
    public static final String ASSISTANT_END = "\u0D3F\n ";
    private static final int MARKERS_PER_TURN = Math.max(HUMAN_BEGIN.length() + HUMAN_END.length(),
            ASSISTANT_BEGIN.length() + ASSISTANT_END.length());

    private ChatTemplate() {}

    /**
     * Renders turns as text plus the character spans (UTF-16 indices into the text, end exclusive) that carry
     * loss, one per loss turn, and the end offset of every turn (the boundaries where a sample may be cut).
     */
    public static Rendered render(List<Turn> turns) {
        int size = 0;
        for (Turn turn : turns) { // sized up front: growing by doubling was the stage's largest allocation
            size += MARKERS_PER_TURN + (turn.getContent() == null ? 0 : turn.getContent().length());
        }
        StringBuilder text = new StringBuilder(size);
        int[] lossStarts = new int[turns.size()];
        int[] lossEnds = new int[turns.size()];
        int[] turnEnds = new int[turns.size()];
        int spans = 0;
        for (int i = 0; i < turns.size(); i++) {
            Turn turn = turns.get(i);
            boolean assistant = "assistant".equals(turn.getRole());
            text.append(assistant ? ASSISTANT_BEGIN : HUMAN_BEGIN);
            int contentStart = text.length();
            text.append(turn.getContent() == null ? "" : turn.getContent());
            text.append(assistant ? ASSISTANT_END : HUMAN_END);
            if (turn.isLoss()) {
                lossStarts[spans] = contentStart;
                lossEnds[spans] = text.length();
                spans++;
            }
            turnEnds[i] = text.length();
        }
        return new Rendered(text.toString(), java.util.Arrays.copyOf(lossStarts, spans),
                java.util.Arrays.copyOf(lossEnds, spans), turnEnds);
    }

    /** A rendered conversation; loss spans are sorted and disjoint. */
    public record Rendered(String text, int[] lossStarts, int[] lossEnds, int[] turnEnds) {
        /** Whether every character of [start, end) lies inside one loss span; empty ranges never do. */
        public boolean insideLoss(int start, int end) {
            if (end <= start) {
                return false;
            }
            int lo = 0;
            int hi = lossStarts.length - 1;
            while (lo <= hi) { // the last span starting at or before start
                int mid = (lo + hi) >>> 1;
                if (lossStarts[mid] <= start) lo = mid + 1; else hi = mid - 1;
            }
            return hi >= 0 && end <= lossEnds[hi];
        }
    }
}
