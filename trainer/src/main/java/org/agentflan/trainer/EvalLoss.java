package org.agentflan.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;

/**
 * The eval loss's sums over a list of samples: the summed next-token NLL over the loss tokens of the first
 * {@code maxRows} packed rows, in the samples' order (no shuffle), without gradients, and the number of those loss
 * tokens. Training's eval ({@link Evaluation}) and {@code agentflan eval} both compute it here, so they give the
 * same number for the same samples and packing.
 */
public final class EvalLoss {
    /** Summed NLL and the loss tokens it is over; the loss is their ratio. */
    public record Sum(double nll, long lossTokens) {
        public double mean() {
            return nll / Math.max(1, lossTokens);
        }
    }

    private EvalLoss() {}

    /**
     * @param rank this rank runs micro-batches rank, rank + ranks, ...; the caller adds the ranks' sums up
     * @param chunkTokens loss tokens projected onto the vocabulary at a time ({@code model.chunk_tokens})
     */
    public static Sum sum(LlamaModel model, NDManager manager, List<Sample> samples, Packer packer, int maxRows,
                          int microBatch, DataType computeType, int chunkTokens, int rank, int ranks) {
        DataStream stream = new DataStream(samples, packer, 0, false, 1); // no shuffle: the seed plays no part
        NDArray nll = manager.zeros(new Shape(), DataType.FLOAT32); // summed on the device, read once at the end
        long lossTokens = 0;
        int rowsLeft = maxRows;
        for (int batch = 0; rowsLeft > 0; batch++) {
            List<Packer.PackedRow> rows = new ArrayList<>();
            Packer.PackedRow row;
            while (rows.size() < Math.min(microBatch, rowsLeft) && (row = stream.next()) != null) {
                rows.add(row);
            }
            if (rows.isEmpty()) break;
            rowsLeft -= rows.size();
            if (batch % ranks != rank) {
                continue; // another rank's micro-batch
            }
            MicroBatch mb = MicroBatch.of(rows, rows.size(), packer.seqLen());
            try (NDManager scope = manager.newSubManager()) {
                MicroBatch.Arrays b = mb.toNDArrays(scope);
                NDArray hidden = model.forward(b.inputIds(), b.positions(), b.segmentIds(), computeType);
                nll.addi(MaskedCrossEntropy.sumAt(model, hidden, b.targets(), b.lossPositions(), chunkTokens));
            }
            lossTokens += mb.lossTokens();
        }
        try (nll) {
            return new Sum(nll.getFloat(), lossTokens);
        }
    }
}
