package org.agentflan.dataprep.tokenize;

import java.util.List;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.ShardSchema;

/**
 * Turns a conversation into one training sample: render with {@link ChatTemplate}, tokenize the whole text
 * once, and derive the loss mask from character offsets (a token carries loss iff all of its characters lie
 * inside a loss span). The capability labels follow the same rule over every assistant turn, loss or not: a token
 * whose characters all lie in an assistant turn's content and end marker carries that turn's capability
 * ({@link ShardSchema#CAPABILITY_IDS}). BOS starts every sample; EOS follows when configured, carries loss when
 * the last turn does and the last turn's capability when that turn is an assistant's. Tokenizing the whole text, not turn by turn, gives the ids the model sees at inference, where
 * SentencePiece merges across marker boundaries. A template marker inside a turn's text is rejected or kept as
 * {@link MarkersInText} says.
 */
public final class SampleEncoder {
    private final Llama2Tokenizer tokenizer;
    private final int maxLength;
    private final OverLengthPolicy policy;
    private final boolean eos;
    private final MarkersInText markers;

    public SampleEncoder(Llama2Tokenizer tokenizer, int maxLength, OverLengthPolicy policy, boolean eos,
                         MarkersInText markers) {
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.policy = policy;
        this.eos = eos;
        this.markers = markers;
    }

    /** The sample, or a rejection with its kind and reason; never throws on content. */
    public Result encode(List<Turn> turns) {
        if (turns == null || turns.isEmpty()) {
            return Result.rejected(RejectKind.EMPTY_CONVERSATION, "no turns", false);
        }
        int lastLoss = lastLossTurn(turns, turns.size());
        if (lastLoss < 0) {
            return Result.rejected(RejectKind.NO_LOSS_TURN, "no turn carries loss (nothing to learn)", false);
        }
        String marker = MarkersInText.find(turns);
        if (marker != null && markers == MarkersInText.REJECT) {
            return Result.rejected(RejectKind.MARKER_IN_TEXT, marker, true);
        }
        boolean hasMarker = marker != null;
        Sample full = encodeTurns(turns);
        if (full.length() <= maxLength) {
            return Result.of(full, false, hasMarker);
        }
        if (policy == OverLengthPolicy.DROP) {
            return Result.rejected(RejectKind.OVER_LENGTH, full.length() + " tokens > max_length " + maxLength,
                    hasMarker);
        }
        // Cut after a loss turn. Re-encode each candidate prefix: merges across the cut (e.g. "\n " + "<")
        // mean a prefix of the full encoding is not the encoding of the prefix.
        for (int end = lastLossTurn(turns, turns.size()); end >= 0; end = lastLossTurn(turns, end)) {
            Sample cut = encodeTurns(turns.subList(0, end + 1));
            if (cut.length() <= maxLength) {
                return Result.of(cut, true, hasMarker);
            }
        }
        return Result.rejected(RejectKind.OVER_LENGTH, full.length() + " tokens > max_length " + maxLength
                + " and no prefix ending in a loss turn fits", hasMarker);
    }

    /** Index of the last loss turn before {@code end} (exclusive), or -1. */
    private static int lastLossTurn(List<Turn> turns, int end) {
        for (int i = end - 1; i >= 0; i--) {
            if (turns.get(i).isLoss()) {
                return i;
            }
        }
        return -1;
    }

    private Sample encodeTurns(List<Turn> turns) {
        ChatTemplate.Rendered rendered = ChatTemplate.render(turns);
        Llama2Tokenizer.Encoded enc = tokenizer.encodeWithSpans(rendered.text());
        int n = enc.ids().length;
        int total = 1 + n + (eos ? 1 : 0);
        int[] ids = new int[total];
        int[] mask = new int[total];
        int[] capabilities = new int[total];
        int[] turnCapability = assistantCapabilityIds(turns);
        ids[0] = Llama2Tokenizer.BOS_ID;
        int lossTokens = 0;
        for (int i = 0; i < n; i++) {
            ids[i + 1] = enc.ids()[i];
            if (rendered.insideLoss(enc.starts()[i], enc.ends()[i])) {
                mask[i + 1] = 1;
                lossTokens++;
            }
            int turn = rendered.turnHolding(enc.starts()[i], enc.ends()[i]);
            capabilities[i + 1] = turn < 0 ? ShardSchema.NO_CAPABILITY : turnCapability[turn];
        }
        if (eos) {
            ids[total - 1] = Llama2Tokenizer.EOS_ID;
            if (turns.get(turns.size() - 1).isLoss()) {
                mask[total - 1] = 1;
                lossTokens++;
            }
            capabilities[total - 1] = turnCapability[turns.size() - 1];
        }
        return new Sample(ids, mask, capabilities, lossTokens, rendered.text(), enc);
    }

    /** Per turn, its {@link ShardSchema#CAPABILITY_IDS} label: the capability of an assistant turn, else none. */
    private static int[] assistantCapabilityIds(List<Turn> turns) {
        int[] labels = new int[turns.size()];
        for (int i = 0; i < labels.length; i++) {
            Turn t = turns.get(i);
            labels[i] = ChatTurn.ASSISTANT.equals(t.getRole()) ? ShardSchema.capabilityId(t.getCapability())
                    : ShardSchema.NO_CAPABILITY;
        }
        return labels;
    }

    /**
     * Token ids (BOS first), the 0/1 loss mask and the capability labels, all of the same length; {@code text} and
     * {@code encoded} (the rendered text and its tokens' spans, without BOS/EOS) are kept for human-readable views.
     */
    public record Sample(int[] inputIds, int[] lossMask, int[] capabilityIds, int lossTokens, String text,
                         Llama2Tokenizer.Encoded encoded) {
        public int length() {
            return inputIds.length;
        }
    }

    /**
     * Either a sample, or a reject kind with its reason; {@code truncated} tells whether turns were cut, and
     * {@code markersInText} whether a turn's text holds a template marker (kept or rejected, see
     * {@link MarkersInText}).
     */
    public record Result(Sample sample, RejectKind rejectKind, String rejectReason, boolean truncated,
                         boolean markersInText) {
        static Result of(Sample sample, boolean truncated, boolean markersInText) {
            return new Result(sample, null, null, truncated, markersInText);
        }

        static Result rejected(RejectKind kind, String reason, boolean markersInText) {
            return new Result(null, kind, reason, false, markersInText);
        }
    }
}
