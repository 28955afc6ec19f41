package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code softmax(q k^T + mask) v} over {@code [B,H,T,d]} queries (already scaled), keys and values, whole or in blocks
 * of query rows. In blocks, only one block's {@code [B,H,block,keys]} scores exist at a time, and a block of rows
 * {@code [s, e)} multiplies only the keys before {@code e} (the masks are causal). Each block is the same arithmetic as
 * the whole, so the result is equal up to float rounding.
 *
 * <p>The blocked backward ({@link #backward}) recomputes each block's scores from q, k and v and runs autograd on that
 * block alone, so the backward never holds more than one block's scores either: the
 * memory-for-compute trade FlashAttention makes, written with autograd instead of a fused kernel.
 */
final class AttentionCore {
    private AttentionCore() {
    }

    /**
     * The attention output {@code [B,H,T,d]}. With {@code block <= 0} (or not below T) the scores of all rows are
     * made at once; otherwise {@code block} rows at a time. Under a gradient collector, autograd keeps what each
     * block's backward needs (all blocks' probabilities together are the whole score tensor); training with blocks
     * therefore runs this without a graph and calls {@link #backward}.
     */
    static NDArray forward(NDArray q, NDArray k, NDArray v, AttentionMask mask, NDArray wholeMask, int block) {
        long t = q.getShape().get(2);
        if (!blocked(block, t)) {
            return scoresTimesValues(q, k, v, wholeMask != null ? wholeMask : mask.rows(0, t));
        }
        List<NDArray> outputs = new ArrayList<>();
        for (long start = 0; start < t; start += block) {
            long end = Math.min(t, start + block);
            try (NDScope scope = new NDScope()) {
                NDArray out = blockOutput(q.get(rows(start, end)), k, v, mask, start, end);
                NDScope.unregister(out);
                outputs.add(out);
            }
        }
        NDArray joined = NDArrays.concat(new NDList(outputs), 2);
        outputs.forEach(NDArray::close);
        return joined;
    }

    /**
     * Gradients {@code {dq, dk, dv}} of the attention output given its gradient {@code dOut [B,H,T,d]}, a block of query
     * rows at a time: each block's scores are recomputed under autograd and freed before the next block.
     * {@code q}, {@code k} and {@code v} are values (their own graphs, if any, are not touched).
     */
    static NDArray[] backward(NDArray q, NDArray k, NDArray v, NDArray dOut, AttentionMask mask, int block) {
        long t = q.getShape().get(2);
        int step = blocked(block, t) ? block : (int) t;
        NDArray keys = TrainingPass.leaf(k);
        NDArray values = TrainingPass.leaf(v);
        List<NDArray> queryGrads = new ArrayList<>();
        for (long start = 0; start < t; start += step) {
            long end = Math.min(t, start + step);
            try (NDScope scope = new NDScope()) {
                NDArray queries = TrainingPass.leaf(q.get(rows(start, end)));
                NDArray out = blockOutput(queries, keys, values, mask, start, end);
                TrainingPass.backward(out, dOut.get(rows(start, end)));
                NDArray dq = queries.getGradient();
                NDScope.unregister(dq);
                queryGrads.add(dq);
            }
        }
        NDArray dq = queryGrads.size() == 1 ? queryGrads.get(0) : NDArrays.concat(new NDList(queryGrads), 2);
        NDArray[] grads = {dq, keys.getGradient(), values.getGradient()};
        if (queryGrads.size() > 1) {
            queryGrads.forEach(NDArray::close);
        }
        keys.close();
        values.close();
        return grads;
    }

    private static boolean blocked(int block, long t) {
        return block > 0 && block < t;
    }

    private static String rows(long start, long end) {
        return ":, :, " + start + ":" + end;
    }

    /** Output rows {@code [start, end)} from the keys and values before {@code keys(end)}. */
    private static NDArray blockOutput(NDArray queries, NDArray k, NDArray v, AttentionMask mask, long start, long end) {
        long keys = mask.keys(end);
        boolean allKeys = keys == k.getShape().get(2);
        NDArray blockKeys = allKeys ? k : k.get(":, :, :" + keys);
        NDArray blockValues = allKeys ? v : v.get(":, :, :" + keys);
        return scoresTimesValues(queries, blockKeys, blockValues, mask.rows(start, end));
    }

    /** Softmax in fp32 whatever the compute dtype (as HF does), so half-precision scores do not lose the distribution. */
    private static NDArray scoresTimesValues(NDArray q, NDArray k, NDArray v, NDArray mask) {
        DataType type = q.getDataType();
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).add(mask);
        NDArray probs = type == DataType.FLOAT32
                ? scores.softmax(-1)
                : Casts.to(Casts.to(scores, DataType.FLOAT32).softmax(-1), type);
        return probs.matMul(v);
    }
}
