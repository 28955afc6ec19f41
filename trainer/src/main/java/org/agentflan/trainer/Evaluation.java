package org.agentflan.trainer;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.List;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.model.LlamaModel;

/**
 * The eval loss ({@link EvalLoss}): mean loss per loss token over the first {@code eval.max_rows} packed rows of the eval samples, in
 * their order (no shuffle, so every evaluation of a run sees the same rows and the curve compares like with like),
 * without gradients, every {@code eval.every} steps. With several ranks, rank r runs micro-batches r, r + ranks, ...
 * and the sums of loss and loss tokens are added up over the ranks: the same number as one rank computes alone.
 */
final class Evaluation {
    private final List<Sample> samples;
    private final Packer packer;
    private final long every;
    private final int maxRows;
    private final int microBatch;
    private final DataType computeType;
    private final int chunkTokens;

    Evaluation(List<Sample> samples, Packer packer, TrainConfig cfg, DataType computeType) {
        this.samples = samples;
        this.packer = packer;
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
        EvalLoss.Sum sum = EvalLoss.sum(model, manager, samples, packer, maxRows, microBatch, computeType, chunkTokens,
                ranks.rank(), ranks.worldSize());
        double[] summed = ranks.sum(sum.nll(), sum.lossTokens());
        return summed[0] / Math.max(1, summed[1]);
    }
}
