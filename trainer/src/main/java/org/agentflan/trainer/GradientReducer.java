package org.agentflan.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sums every rank's gradients after the backward pass, in flat buckets. The gradients of consecutive weights are
 * copied into one flat array of up to {@code distributed.bucket_mb} MiB (a weight larger than that fills a bucket of
 * its own), the array is all-reduced by one collective, and each weight's summed gradient is a view into it. Few large
 * collectives instead of one per weight (Llama-2-7B has 291): each collective pays a fixed latency, and large buffers
 * keep the link busy. Each rank divided its loss by the global batch's loss-token count ({@link GlobalBatch}), so the
 * sum is the gradient of the mean over the whole global batch. The buckets are reduced after the backward pass, not
 * during it, because DJL has no per-weight gradient hooks to start them from; {@code docs/scaling.md} says what that
 * costs. The buckets are laid out once, in the weights' order, identically on every rank.
 */
final class GradientReducer {
    private final DataParallel ranks;
    private final List<List<String>> buckets = new ArrayList<>();

    GradientReducer(DataParallel ranks, Map<String, NDArray> params, long bucketBytes) {
        this.ranks = ranks;
        List<String> bucket = new ArrayList<>();
        long bytes = 0;
        for (Map.Entry<String, NDArray> p : params.entrySet()) {
            long size = p.getValue().size() * p.getValue().getDataType().getNumOfBytes();
            if (!bucket.isEmpty() && bytes + size > bucketBytes) {
                buckets.add(List.copyOf(bucket));
                bucket.clear();
                bytes = 0;
            }
            bucket.add(p.getKey());
            bytes += size;
        }
        if (!bucket.isEmpty()) {
            buckets.add(List.copyOf(bucket));
        }
    }

    /** The weights' names per bucket, in the order the buckets are reduced. */
    List<List<String>> buckets() {
        return buckets;
    }

    /**
     * The sum over ranks of {@code grads} (weight name to this rank's gradient), as new arrays owned by {@code scope}
     * with the weights' shapes; with one rank, {@code grads} itself.
     */
    Map<String, NDArray> reduce(Map<String, NDArray> grads, NDManager scope) {
        if (ranks.worldSize() == 1) {
            return grads;
        }
        Map<String, NDArray> summed = new LinkedHashMap<>();
        for (List<String> bucket : buckets) {
            NDList parts = new NDList();
            for (String name : bucket) {
                parts.add(grads.get(name).flatten());
            }
            NDArray flat = NDArrays.concat(parts); // a copy, contiguous: what a zero-copy view for the collective needs
            flat.attach(scope);
            ranks.allReduce(flat);
            long offset = 0;
            for (String name : bucket) {
                NDArray grad = grads.get(name);
                long size = grad.size();
                NDArray view = flat.get(new NDIndex().addSliceDim(offset, offset + size)).reshape(grad.getShape());
                view.attach(scope);
                summed.put(name, view);
                offset += size;
            }
        }
        return summed;
    }
}
