package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Additive attention masks ({@code 0} where a query may look, a large negative number where not) for the rows
 * {@code [start, end)} of a pass's queries, as {@code [B,1,end-start,keys]}. Every mask here is causal, so query rows
 * below {@code end} never see a key past {@code past + end}: a block of rows needs only those keys, and the whole pass
 * is the block {@code [0, queries)}.
 *
 * @param segmentIds {@code [B,T]} int, 1..k numbering the samples of a packed row, 0 for padding; null for a single
 *     sequence continuing {@code past} cached tokens (generation)
 * @param past tokens already in the KV cache before these queries (0 for a packed batch)
 * @param queries query rows of the pass
 * @param leftPad for generation in a batch of sequences left-padded to one length: row b's first {@code leftPad[b]}
 *     positions are padding that no query sees; null when no row is padded
 */
record AttentionMask(NDArray segmentIds, int past, long queries, int[] leftPad, DataType type, NDManager manager) {
    /** Far below any real score, finite in fp32/bf16 (fp16 rounds it to -inf, which softmax handles since no row is empty). */
    private static final float BLOCKED = -1e30f;

    /**
     * Packed-row masks: token i sees token j iff they belong to the same sample ({@code seg[i] == seg[j] != 0}) and
     * {@code j <= i}. A padding token ({@code seg == 0}) sees only itself, so no row is fully masked and no NaN appears.
     */
    static AttentionMask packed(NDArray segmentIds, DataType type) {
        return new AttentionMask(segmentIds.toType(DataType.INT32, false), 0, segmentIds.getShape().get(1), null, type,
                segmentIds.getManager());
    }

    /**
     * Causal masks for {@code queries} new tokens following {@code past} cached ones, in a batch of sequences
     * left-padded to one length ({@code leftPad[b]} padding positions in row b). Query i (absolute position past+i) of
     * row b sees keys {@code leftPad[b]..past+i}, and itself always, so that a padding query is never left with
     * nothing to attend to (its output is never used). With no padding it is the plain causal mask of every row.
     */
    static AttentionMask causal(NDManager manager, int past, int queries, int[] leftPad, DataType type) {
        boolean padded = java.util.Arrays.stream(leftPad).anyMatch(p -> p > 0);
        return new AttentionMask(null, past, queries, padded ? leftPad.clone() : null, type, manager);
    }

    /** Keys that query rows {@code [.., end)} may see: those before {@code past + end}. */
    long keys(long end) {
        return past + end;
    }

    /** The mask of query rows {@code [start, end)} over keys {@code [0, keys(end))}: {@code [B,1,end-start,keys(end)]}. */
    NDArray rows(long start, long end) {
        NDArray rows = manager.arange(past + (int) start, past + (int) end, 1, DataType.INT32).expandDims(1);
        NDArray cols = manager.arange(0, (int) keys(end), 1, DataType.INT32).expandDims(0);
        NDArray causal = cols.lte(rows);
        if (segmentIds == null && leftPad == null) {
            return additive(causal).expandDims(0).expandDims(0);
        }
        if (segmentIds == null) {
            NDArray pads = manager.create(leftPad).reshape(leftPad.length, 1, 1);
            NDArray notPadding = cols.expandDims(0).gte(pads);                          // [B,1,keys]
            NDArray allowed = causal.expandDims(0).logicalAnd(notPadding).logicalOr(cols.eq(rows).expandDims(0));
            return additive(allowed).expandDims(1);
        }
        NDArray querySeg = segmentIds.get(":, " + start + ":" + end);
        NDArray keySeg = segmentIds.get(":, :" + end);
        NDArray sameSample = querySeg.expandDims(2).eq(keySeg.expandDims(1));
        NDArray notPadding = querySeg.neq(0).expandDims(2);
        NDArray allowed = sameSample.logicalAnd(notPadding).logicalAnd(causal).logicalOr(cols.eq(rows));
        return additive(allowed).expandDims(1);
    }

    private NDArray additive(NDArray allowed) {
        // (allowed - 1) * big: 0 where allowed, BLOCKED where not. Not differentiated, so Java scalars are safe here.
        return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-BLOCKED).toType(type, false);
    }
}
