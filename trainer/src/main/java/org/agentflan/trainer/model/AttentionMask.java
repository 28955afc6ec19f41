package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Additive attention masks ({@code 0} where a query may look, a large negative number where not), built once per
 * batch as {@code [B,1,Tq,Tk]} and shared by every layer.
 */
public final class AttentionMask {
    /** Far below any real score, finite in fp32/bf16 (fp16 rounds it to -inf, which softmax handles since no row is empty). */
    private static final float BLOCKED = -1e30f;

    private AttentionMask() {
    }

    /**
     * Packed-row mask: token i sees token j iff they belong to the same sample ({@code seg[i] == seg[j] != 0}) and
     * {@code j <= i}. A padding token ({@code seg == 0}) sees only itself, so no row is fully masked and no NaN appears.
     *
     * @param segmentIds {@code [B,T]} int, 1..k numbering the samples of a row, 0 for padding
     */
    public static NDArray packed(NDArray segmentIds, DataType type) {
        NDManager manager = segmentIds.getManager();
        long t = segmentIds.getShape().get(1);
        NDArray seg = segmentIds.toType(DataType.INT32, false);
        NDArray rows = manager.arange(0, (int) t, 1, DataType.INT32).expandDims(1);
        NDArray cols = manager.arange(0, (int) t, 1, DataType.INT32).expandDims(0);
        NDArray causal = cols.lte(rows);
        NDArray diagonal = cols.eq(rows);
        NDArray sameSample = seg.expandDims(2).eq(seg.expandDims(1));
        NDArray notPadding = seg.neq(0).expandDims(2);
        NDArray allowed = sameSample.logicalAnd(notPadding).logicalAnd(causal).logicalOr(diagonal);
        return additive(allowed).toType(type, false).expandDims(1);
    }

    /**
     * Causal mask for {@code queries} new tokens following {@code past} cached ones, for a batch of sequences that
     * are left-padded to one length: row b's first {@code leftPad[b]} positions are padding. Query i (absolute
     * position past+i) of row b sees keys {@code leftPad[b]..past+i}, and itself always, so that a padding query
     * is never left with nothing to attend to (its output is never used). Shape {@code [B,1,queries,past+queries]};
     * with no padding it is the plain causal mask of every row.
     */
    public static NDArray causal(NDManager manager, int past, int queries, int[] leftPad, DataType type) {
        int keys = past + queries;
        NDArray rows = manager.arange(past, keys, 1, DataType.INT32).expandDims(1);
        NDArray cols = manager.arange(0, keys, 1, DataType.INT32).expandDims(0);
        NDArray pads = manager.create(leftPad).reshape(leftPad.length, 1, 1);
        NDArray notPadding = cols.expandDims(0).gte(pads);                       // [B,1,keys]
        NDArray allowed = cols.lte(rows).expandDims(0).logicalAnd(notPadding)    // [B,queries,keys]
                .logicalOr(cols.eq(rows).expandDims(0));
        return additive(allowed).toType(type, false).expandDims(1);
    }

    private static NDArray additive(NDArray allowed) {
        // (allowed - 1) * big: 0 where allowed, BLOCKED where not. Not differentiated, so Java scalars are safe here.
        return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-BLOCKED);
    }
}
