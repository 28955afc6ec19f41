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
 * The eval loss: mean loss per loss token over the first {@code eval.max_rows} packed rows of the eval samples, in
 * their order (no shuffle, so every evaluation of a run sees the same rows and the curve compares like with like),
 * without gradients, every {@code eval.every} steps. With several ranks, rank r runs micro-batches r, r + ranks, ...
 * and the sums of loss and loss tokens are added up over the ranks: the same number as one rank computes alone.
 */
final class Evaluation {
    private final List<Sample> samples;
    private final Packer packer;
    private final long seed;
    private final long every;
    private final int maxRows;
    private final int microBatch;
    private final DataType computeType;
    private final int chunkTokens;

    Evaluation(List<Sample> samples, Packer packer, TrainConfig cfg, DataType computeType) {
        this.samples = samples;
        this.packer = packer;
        this.seed = cfg.seed();
        this.every = cfg.eval().every();
        this.maxRows = cfg.eval().maxRows();
        this.microBatch = cfg.batch().microBatch();
        this.computeType = computeType;
        this.chunkTokens = cfg.model().chunkTokens();
    }

    /** Whether step {@code step} ends with an evaluation (never without eval samples or with eval.every 0). */
    boolean due(long step) {
        return every > 0 && step % every == 0 && !samples.isEmpty();
    }

    /** The eval loss of {@code model}, every rank of {@code ranks} taking part; each batch's arrays die in a scope under {@code manager}. */
    double loss(LlamaModel model, NDManager manager, DataParallel ranks) {
        DataStream stream = new DataStream(samples, packer, seed, false, 1);
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
            if (batch % ranks.worldSize() != ranks.rank()) {
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
        double[] summed;
        try (nll) {
            summed = ranks.sum(nll.getFloat(), lossTokens);
        }
        return summed[0] / Math.max(1, summed[1]);
    }
}
