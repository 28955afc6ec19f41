package org.agentflan.trainer.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The one place samples become fixed-length training rows. Packing is sequential: pieces go into the current row
 * while they fit, then the row is closed and padded; attention and positions stay inside each piece (segment).
 *
 * <p>A sample longer than {@code seq_len} is split into consecutive pieces of at most {@code seq_len} tokens, each
 * trained as a sequence of its own, or dropped, as configured. A piece whose targets carry no loss is dropped
 * (it would cost compute and teach nothing). Every choice is counted in {@link Stats}.
 *
 * <p>Row contract: {@code targets[t]} is the next token of the same piece (0 where none);
 * {@code lossMask[t]} is 1 iff that target exists and its token's loss_mask is 1; {@code capabilityIds[t]} is that
 * target token's capability label (0 where there is no target, or the sample has no labels); {@code positions}
 * restart at 0 per piece; {@code segmentIds} are 1..k per piece in the row and 0 for padding; {@code sources}
 * names segment k's sample source at index k - 1.
 */
public final class Packer {
    /** What happens to a sample longer than {@code seq_len}. */
    public enum Overlong { SPLIT, DROP }

    /** A contiguous token range of one sample that is trained as one sequence. */
    public record Piece(Sample sample, int start, int length) {
        int lossTargets() {
            int n = 0;
            for (int j = 1; j < length; j++) {
                n += sample.lossMask()[start + j];
            }
            return n;
        }
    }

    /** Counts of what packing did to a set of samples. */
    public record Stats(long samples, long splitSamples, long droppedOverlong, long droppedNoLoss, long pieces,
                        long tokens, long lossTargets) {}

    private final int seqLen;
    private final Overlong overlong;

    public Packer(int seqLen, Overlong overlong) {
        if (seqLen < 2) {
            throw new IllegalArgumentException("seq_len must be >= 2, got " + seqLen);
        }
        this.seqLen = seqLen;
        this.overlong = overlong;
    }

    public int seqLen() {
        return seqLen;
    }

    /** The pieces a sample becomes, in order; empty when the sample is dropped. */
    public List<Piece> pieces(Sample sample) {
        int n = sample.length();
        List<Piece> out = new ArrayList<>(1);
        if (n > seqLen && overlong == Overlong.DROP) {
            return out;
        }
        for (int start = 0; start < n; start += seqLen) {
            Piece p = new Piece(sample, start, Math.min(seqLen, n - start));
            if (p.lossTargets() > 0) {
                out.add(p);
            }
        }
        return out;
    }

    /** What packing does to these samples, for the run log. */
    public Stats stats(List<Sample> samples) {
        long split = 0, overlongDropped = 0, noLoss = 0, pieces = 0, tokens = 0, loss = 0;
        for (Sample s : samples) {
            List<Piece> ps = pieces(s);
            if (s.length() > seqLen) {
                if (overlong == Overlong.DROP) {
                    overlongDropped++;
                    continue;
                }
                split++;
            }
            if (ps.isEmpty()) {
                noLoss++;
            }
            for (Piece p : ps) {
                pieces++;
                tokens += p.length();
                loss += p.lossTargets();
            }
        }
        return new Stats(samples.size(), split, overlongDropped, noLoss, pieces, tokens, loss);
    }

    /** Starts an empty row; with {@code countOnly} the row tracks only its fill (to count rows cheaply). */
    public RowBuilder newRow(boolean countOnly) {
        return new RowBuilder(countOnly);
    }

    /** A row being filled. */
    public final class RowBuilder {
        private final boolean countOnly;
        private final int[] inputIds;
        private final int[] targets;
        private final float[] lossMask;
        private final int[] capabilityIds;
        private final int[] positions;
        private final int[] segmentIds;
        private final List<String> sources = new ArrayList<>();
        private int used;
        private int segments;
        private int lossTokens;

        private RowBuilder(boolean countOnly) {
            this.countOnly = countOnly;
            int n = countOnly ? 0 : seqLen;
            inputIds = new int[n];
            targets = new int[n];
            lossMask = new float[n];
            capabilityIds = new int[n];
            positions = new int[n];
            segmentIds = new int[n];
        }

        public boolean isEmpty() {
            return segments == 0;
        }

        public boolean fits(Piece p) {
            return used + p.length() <= seqLen;
        }

        public void add(Piece p) {
            if (!fits(p)) {
                throw new IllegalStateException("piece of " + p.length() + " tokens does not fit in row with "
                        + used + "/" + seqLen + " used");
            }
            segments++;
            if (!countOnly) {
                int[] ids = p.sample().inputIds();
                int[] mask = p.sample().lossMask();
                int[] labels = p.sample().capabilityIds();
                for (int j = 0; j < p.length(); j++) {
                    int t = used + j;
                    int src = p.start() + j;
                    inputIds[t] = ids[src];
                    positions[t] = j;
                    segmentIds[t] = segments;
                    if (j + 1 < p.length()) {
                        targets[t] = ids[src + 1];
                        lossMask[t] = mask[src + 1];
                        lossTokens += mask[src + 1];
                        capabilityIds[t] = labels == null ? 0 : labels[src + 1];
                    }
                }
                sources.add(p.sample().source());
            }
            used += p.length();
        }

        public PackedRow build() {
            return new PackedRow(inputIds, targets, lossMask, capabilityIds, positions, segmentIds,
                    Collections.unmodifiableList(sources), used, segments, lossTokens);
        }
    }

    /** A filled row; arrays have {@code seq_len} entries, padding after {@code tokens}. */
    public record PackedRow(int[] inputIds, int[] targets, float[] lossMask, int[] capabilityIds, int[] positions,
                            int[] segmentIds, List<String> sources, int tokens, int segments, int lossTokens) {
        @Override
        public String toString() {
            return "PackedRow[tokens=" + tokens + ", segments=" + segments + ", lossTokens=" + lossTokens
                    + ", ids=" + Arrays.toString(inputIds) + "]";
        }
    }
}
