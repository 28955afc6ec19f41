package org.agentflan.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.FlatLayout;
import org.agentflan.trainer.optim.GradClip;

/**
 * ZeRO stage 1 ({@code distributed.zero_stage: 1}): the AdamW moments are split over the ranks, each rank updating
 * only its slice of the parameters. The parameters lie end to end in one flat space ({@link FlatLayout}); rank
 * {@code r} owns the contiguous slice {@code r} of it, as 1-D views into the fp32 parameters (the master weights, no
 * copy), and an {@link AdamW} over those pieces holds the moments of the slice only: {@code 1/world} of the
 * unsharded optimizer's memory.
 *
 * <p>A step: the gradients are reduce-scattered (summed, as the all-reduce path sums them: each rank already divided
 * its loss by the global batch's loss tokens), so each rank receives the summed gradient of its slice only; the
 * global norm is the square root of the all-reduced sum of each slice's squares (the padding adds zeros), so every
 * rank clips by the same coefficient and takes the same skip decision; each rank applies AdamW to its slice; the
 * updated slices are all-gathered into every rank's full parameters. The collectives go in rounds of at most
 * {@code distributed.bucket_mb}: round {@code k} carries elements {@code [k c, (k+1) c)} of every rank's slice, so
 * each round is {@code world} equal parts, what reduce-scatter and all-gather need.
 *
 * <p>The per-element arithmetic of AdamW is the unsharded optimizer's, and a sum of two ranks' gradients is the same
 * float whichever order it is taken in, so with two ranks and no clipping the weights are bit for bit those of
 * {@code zero_stage: 0}. The norm is not {@link GradClip#norm}'s (the norm of per-tensor norms, as torch's
 * {@code clip_grad_norm_}): it is the sum of squares of each round's part of each slice. libtorch's CPU
 * {@code norm()} of a large fp32 tensor is off by up to about 1e-5 relative, the sum by about 1e-7, so the reported
 * norms differ by up to about 1e-5 and clipped updates slightly (losses within 1e-6 relative in the tests).
 */
final class ShardedOptimizer {
    /** Builds the optimizer over this rank's pieces: fresh moments or a checkpoint's. */
    @FunctionalInterface
    interface Moments {
        AdamW create(Map<String, NDArray> pieces, Map<String, Boolean> decays, FlatLayout layout, int rank)
                throws IOException;
    }

    /** A step's reduced gradients: this rank's slice of the sum, and the global norm (fp32 scalar on the device). */
    record Reduced(NDArray slice, Map<String, NDArray> pieces, NDArray norm) {}

    private final DataParallel ranks;
    private final FlatLayout layout;
    /** Each parameter flattened: views that share the parameter's memory. */
    private final Map<String, NDArray> flatParams = new LinkedHashMap<>();
    /** This rank's pieces of the parameters, views into them: the fp32 master weights AdamW updates. */
    private final Map<String, NDArray> masters = new LinkedHashMap<>();
    private final List<FlatLayout.Piece> mine;
    private final AdamW adamw;
    /** Elements of each rank's slice that one collective round carries. */
    private final long chunk;

    ShardedOptimizer(DataParallel ranks, Map<String, NDArray> params, long bucketBytes, Moments moments) throws IOException {
        this.ranks = ranks;
        this.layout = FlatLayout.of(params, ranks.worldSize());
        this.chunk = Math.max(1, bucketBytes / DataType.FLOAT32.getNumOfBytes() / ranks.worldSize());
        params.forEach((name, p) -> flatParams.put(name, p.reshape(-1)));
        this.mine = layout.piecesOf(ranks.rank());
        Map<String, Boolean> decays = new LinkedHashMap<>();
        Map<String, Boolean> byParam = AdamW.decaysOf(params);
        for (FlatLayout.Piece piece : mine) {
            masters.put(piece.name(), flatParams.get(piece.name()).get(slice(piece.from(), piece.to())));
            decays.put(piece.name(), byParam.get(piece.name()));
        }
        this.adamw = moments.create(masters, decays, layout, ranks.rank());
    }

    FlatLayout layout() {
        return layout;
    }

    int rank() {
        return ranks.rank();
    }

    /** The optimizer of this rank's slice: its moments are 1-D, one per piece, named after the parameter. */
    AdamW adamw() {
        return adamw;
    }

    /** Collective rounds per reduce-scatter (and per all-gather). */
    long rounds() {
        return (layout.slice() + chunk - 1) / chunk;
    }

    /**
     * Reduce-scatters {@code grads} (this rank's, by parameter name), multiplies this rank's summed slice by
     * {@code inverseScale} (1 without loss scaling) and returns it with the global norm of the summed, unscaled
     * gradient; every array belongs to {@code scope}.
     */
    Reduced reduce(Map<String, NDArray> grads, float inverseScale, NDManager scope) {
        int world = ranks.worldSize();
        int rank = ranks.rank();
        // Only a copy of this rank's part outlives a round: the round's bucket (world x chunk) dies with it.
        NDList received = new NDList();
        for (long start = 0; start < layout.slice(); start += chunk) {
            long length = Math.min(chunk, layout.slice() - start);
            try (NDManager round = scope.newSubManager()) {
                NDList parts = new NDList();
                for (int r = 0; r < world; r++) {
                    long from = layout.sliceStart(r) + start;
                    parts.addAll(flatRange(grads, from, from + length, round));
                }
                NDArray bucket = NDArrays.concat(parts); // contiguous, what a zero-copy view for the collective needs
                bucket.attach(round);
                ranks.reduceScatter(bucket);
                NDArray own = bucket.get(slice(rank * length, (rank + 1) * length)).duplicate();
                own.attach(scope);
                received.add(own);
            }
        }
        NDArray summed = received.size() == 1 ? received.singletonOrThrow() : NDArrays.concat(received);
        summed.attach(scope);
        if (inverseScale != 1f) {
            summed.muli(inverseScale); // exact for a power-of-two scale
        }
        // square().sum(), not norm(): libtorch's CPU norm() of a 2M-element fp32 tensor is off by ~1e-5 relative, the
        // sum's cascade by ~1e-7 (measured with torch 1.13 against float64).
        NDArray squares = summed.square().sum();
        squares.attach(scope);
        ranks.allReduce(squares);
        NDArray norm = squares.sqrt();
        norm.attach(scope);
        Map<String, NDArray> pieces = new LinkedHashMap<>();
        long sliceStart = layout.sliceStart(rank);
        for (FlatLayout.Piece piece : mine) {
            long at = piece.flatOffset() - sliceStart;
            NDArray g = summed.get(slice(at, at + piece.length()));
            g.attach(scope);
            pieces.put(piece.name(), g);
        }
        return new Reduced(summed, pieces, norm);
    }

    /**
     * Clips this rank's slice by the global {@code gradNorm} read from {@link Reduced#norm}, applies AdamW to this
     * rank's pieces, and all-gathers every rank's updated slice into the full parameters.
     */
    void apply(Reduced reduced, double maxNorm, double gradNorm, double lr, NDManager scope) {
        GradClip.clipTo(List.of(reduced.slice()), maxNorm, gradNorm);
        adamw.update(masters, reduced.pieces(), lr);
        allGather(scope);
    }

    /** Every rank's slice of the parameters from its owner, round by round. */
    private void allGather(NDManager scope) {
        int world = ranks.worldSize();
        int rank = ranks.rank();
        for (long start = 0; start < layout.slice(); start += chunk) {
            long length = Math.min(chunk, layout.slice() - start);
            try (NDManager round = scope.newSubManager()) {
                NDList parts = new NDList();
                if (rank > 0) {
                    parts.add(round.zeros(new Shape(rank * length), DataType.FLOAT32));
                }
                long mineFrom = layout.sliceStart(rank) + start;
                parts.addAll(flatRange(flatParams, mineFrom, mineFrom + length, round));
                if (rank < world - 1) {
                    parts.add(round.zeros(new Shape((world - 1 - rank) * length), DataType.FLOAT32));
                }
                NDArray bucket = NDArrays.concat(parts);
                bucket.attach(round);
                ranks.allGather(bucket);
                for (int r = 0; r < world; r++) {
                    if (r == rank) {
                        continue;
                    }
                    long from = layout.sliceStart(r) + start;
                    for (FlatLayout.Piece piece : layout.pieces(from, from + length)) {
                        long at = r * length + piece.flatOffset() - from;
                        NDArray values = bucket.get(slice(at, at + piece.length()));
                        values.attach(round);
                        flatParams.get(piece.name()).set(slice(piece.from(), piece.to()), values);
                    }
                }
            }
        }
    }

    /**
     * The flat range {@code [from, to)} of {@code arrays} (by parameter name) as 1-D parts in flat order, the padding
     * beyond the last parameter as zeros; all in {@code scope}.
     */
    private List<NDArray> flatRange(Map<String, NDArray> arrays, long from, long to, NDManager scope) {
        List<NDArray> parts = new ArrayList<>();
        for (FlatLayout.Piece piece : layout.pieces(from, to)) {
            NDArray flat = arrays.get(piece.name()).reshape(-1);
            flat.attach(scope);
            NDArray part = flat.get(slice(piece.from(), piece.to()));
            part.attach(scope);
            parts.add(part);
        }
        long padFrom = Math.max(from, layout.total());
        if (padFrom < to) {
            parts.add(scope.zeros(new Shape(to - padFrom), DataType.FLOAT32));
        }
        return parts;
    }

    private static NDIndex slice(long from, long to) {
        return new NDIndex().addSliceDim(from, to);
    }
}
