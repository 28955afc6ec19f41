package org.agentflan.trainer.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code rows} packed rows laid out as the model's batch: flat row-major {@code [B, T]} arrays. Missing rows (at
 * the end of the data) are all padding, so shapes stay fixed; they carry no loss. {@code capabilityIds} (the
 * targets' capability labels) and {@code sources} (per real row, the source of each segment) stay on the host:
 * training never sends them to the device, eval reads them to group its per-token losses.
 */
public record MicroBatch(int rows, int seqLen, long[] inputIds, long[] targets, float[] lossMask, int[] capabilityIds,
                         long[] positions, int[] segmentIds, List<List<String>> sources, int realRows, long tokens,
                         long lossTokens) {

    public static MicroBatch of(List<Packer.PackedRow> packed, int rows, int seqLen) {
        if (packed.size() > rows) {
            throw new IllegalArgumentException(packed.size() + " rows for a micro-batch of " + rows);
        }
        long[] ids = new long[rows * seqLen];
        long[] targets = new long[rows * seqLen];
        float[] mask = new float[rows * seqLen];
        int[] capabilities = new int[rows * seqLen];
        long[] positions = new long[rows * seqLen];
        int[] segments = new int[rows * seqLen];
        List<List<String>> sources = new ArrayList<>(packed.size());
        long tokens = 0, lossTokens = 0;
        for (int r = 0; r < packed.size(); r++) {
            Packer.PackedRow row = packed.get(r);
            int base = r * seqLen;
            for (int t = 0; t < seqLen; t++) {
                ids[base + t] = row.inputIds()[t];
                targets[base + t] = row.targets()[t];
                mask[base + t] = row.lossMask()[t];
                capabilities[base + t] = row.capabilityIds()[t];
                positions[base + t] = row.positions()[t];
                segments[base + t] = row.segmentIds()[t];
            }
            sources.add(row.sources());
            tokens += row.tokens();
            lossTokens += row.lossTokens();
        }
        return new MicroBatch(rows, seqLen, ids, targets, mask, capabilities, positions, segments, sources,
                packed.size(), tokens, lossTokens);
    }

    /** The arrays of the batch contract, owned by {@code manager}. */
    public Arrays toNDArrays(NDManager manager) {
        Shape shape = new Shape(rows, seqLen);
        return new Arrays(
                manager.create(inputIds, shape),
                manager.create(targets, shape),
                manager.create(lossMask, shape),
                manager.create(lossPositions()),
                manager.create(positions, shape),
                manager.create(segmentIds, shape).toType(DataType.INT32, false));
    }

    /** The flat positions ({@code row * seqLen + t}) whose mask is non-zero, in order: found here, on the host. */
    private long[] lossPositions() {
        int n = 0;
        for (float m : lossMask) {
            if (m != 0) n++;
        }
        long[] at = new long[n];
        int k = 0;
        for (int i = 0; i < lossMask.length; i++) {
            if (lossMask[i] != 0) at[k++] = i;
        }
        return at;
    }

    /**
     * inputIds/targets/positions int64, lossMask float32, segmentIds int32, all {@code [B, T]}; lossPositions int64
     * {@code [n]}, the flat positions of the loss tokens (for {@code MaskedCrossEntropy.sumAt}, which then never
     * waits for the device to count them).
     */
    public record Arrays(NDArray inputIds, NDArray targets, NDArray lossMask, NDArray lossPositions, NDArray positions,
                         NDArray segmentIds) {
        /** Moves every array to {@code manager}, which then frees them, and the model's activations made from them. */
        public void attach(NDManager manager) {
            for (NDArray a : new NDArray[] {inputIds, targets, lossMask, lossPositions, positions, segmentIds}) {
                a.attach(manager);
            }
        }
    }
}
