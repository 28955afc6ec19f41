package org.agentflan.format;

import java.util.Arrays;
import java.util.List;

/**
 * The Agent-FLAN conversation template (docs/method.md section 8), the one copy for training and inference. Each turn
 * renders as begin + content + end; the markers use two Malayalam vowel signs that are single Llama-2 tokens
 * ({@link #BEGIN_MARK} U+0D46 = id 30840, {@link #END_MARK} U+0D3F = id 30387). A loss turn contributes its
 * content and its end marker to the loss, so the model learns to stop; begin markers and non-loss turns never
 * carry loss. {@link #generationPrompt} is {@link #render} of the history followed by the assistant begin marker,
 * so a prompt is exactly the text a training sample of the same conversation has before the reply.
 */
public final class ChatTemplate {
    /** Recorded in the manifest so the trainer can tell which template built a corpus. */
    public static final String NAME = "agent-flan";

    /** U+0D46, after a role tag. */
    public static final String BEGIN_MARK = "\u0D46";
    /** U+0D3F, the end of an assistant turn: generation stops at its token. */
    public static final String END_MARK = "\u0D3F";
    public static final String HUMAN_BEGIN = "<|Human|>" + BEGIN_MARK;
    public static final String ASSISTANT_BEGIN = "<|Assistant|>" + BEGIN_MARK;
    /** End of a system or user turn: a newline and one space. */
    public static final String HUMAN_END = "\n ";
    public static final String ASSISTANT_END = END_MARK + "\n ";
    private static final int MARKERS_PER_TURN = Math.max(HUMAN_BEGIN.length() + HUMAN_END.length(),
            ASSISTANT_BEGIN.length() + ASSISTANT_END.length());

    private ChatTemplate() {}

    /**
     * Renders turns as text plus the character spans (UTF-16 indices into the text, end exclusive) that carry
     * loss, one per loss turn, and for every turn where its content starts and where the turn ends (the boundaries
     * where a sample may be cut). A turn's content and end marker, [contentStart, turnEnd), is the span a loss turn
     * trains on.
     */
    public static Rendered render(List<? extends ChatTurn> turns) {
        int size = 0;
        for (ChatTurn turn : turns) { // sized up front: growing by doubling was the stage's largest allocation
            size += MARKERS_PER_TURN + (turn.getContent() == null ? 0 : turn.getContent().length());
        }
        StringBuilder text = new StringBuilder(size);
        int[] lossStarts = new int[turns.size()];
        int[] lossEnds = new int[turns.size()];
        int[] turnEnds = new int[turns.size()];
        int[] contentStarts = new int[turns.size()];
        int spans = 0;
        for (int i = 0; i < turns.size(); i++) {
            ChatTurn turn = turns.get(i);
            boolean assistant = ChatTurn.ASSISTANT.equals(turn.getRole());
            text.append(assistant ? ASSISTANT_BEGIN : HUMAN_BEGIN);
            int contentStart = text.length();
            contentStarts[i] = contentStart;
            text.append(turn.getContent() == null ? "" : turn.getContent());
            text.append(assistant ? ASSISTANT_END : HUMAN_END);
            if (turn.isLoss()) {
                lossStarts[spans] = contentStart;
                lossEnds[spans] = text.length();
                spans++;
            }
            turnEnds[i] = text.length();
        }
        return new Rendered(text.toString(), Arrays.copyOf(lossStarts, spans), Arrays.copyOf(lossEnds, spans),
                turnEnds, contentStarts);
    }

    /**
     * The text that asks the model for the next assistant turn: the history rendered as for training, then the
     * assistant begin marker. BOS is not text: it is added as a token id.
     */
    public static String generationPrompt(List<? extends ChatTurn> history) {
        return render(history).text() + ASSISTANT_BEGIN;
    }

    /**
     * BOS, then {@link #generationPrompt} encoded as text (a literal "</s>" in a turn stays text): the ids that a
     * training sample of the same conversation starts with, up to the reply.
     */
    public static int[] promptIds(Llama2Tokenizer tokenizer, List<? extends ChatTurn> history) {
        int[] text = tokenizer.encode(generationPrompt(history));
        int[] ids = new int[text.length + 1];
        ids[0] = Llama2Tokenizer.BOS_ID;
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** The single token of {@link #END_MARK} (30387 in Llama-2's vocabulary), looked up rather than assumed. */
    public static int assistantEndId(Llama2Tokenizer tokenizer) {
        int[] ids = tokenizer.encode(END_MARK);
        for (int id : ids) {
            if (tokenizer.decode(new int[] {id}).equals(END_MARK)) {
                return id;
            }
        }
        throw new IllegalArgumentException("tokenizer " + tokenizer.file() + " has no single token for the assistant "
                + "end marker U+0D3F (got " + Arrays.toString(ids) + "): it is not Llama-2's tokenizer");
    }

    /** A rendered conversation; loss spans are sorted and disjoint, turns are in order. */
    public record Rendered(String text, int[] lossStarts, int[] lossEnds, int[] turnEnds, int[] contentStarts) {
        /**
         * The turn whose content and end marker hold every character of [start, end), or -1 (a begin marker, a
         * range across turns, an empty range).
         */
        public int turnHolding(int start, int end) {
            if (end <= start) {
                return -1;
            }
            int lo = 0;
            int hi = contentStarts.length - 1;
            while (lo <= hi) { // the last turn whose content starts at or before start
                int mid = (lo + hi) >>> 1;
                if (contentStarts[mid] <= start) lo = mid + 1; else hi = mid - 1;
            }
            return hi >= 0 && end <= turnEnds[hi] ? hi : -1;
        }

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
