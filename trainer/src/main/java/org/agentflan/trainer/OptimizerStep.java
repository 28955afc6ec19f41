package org.agentflan.trainer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.model.FiniteCheck;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;
import org.agentflan.trainer.model.TrainingPass;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.GradClip;

/**
 * One optimizer step over a global batch: forward and backward over each of this rank's micro-batches, accumulating
 * the gradients of the mean loss per loss token of the whole global batch; then sum the gradients and the loss over
 * the ranks ({@link GradientReducer}), clip the summed gradient, skip the update when the loss or the gradient norm
 * is not finite, apply AdamW, zero the gradients, and check that the updated weights are still finite (an update can
 * overflow even from a finite gradient). Every rank then holds the same summed gradient, so every rank makes the same
 * decisions and the same update, and the weights stay identical. Every temporary array dies inside the step.
 */
final class OptimizerStep {
    /**
     * What a step did. {@code loss} is the mean over the global batch's loss tokens, {@code gradNorm} the norm before
     * clipping; {@code applied} is false for a non-finite step, which left weights and moments untouched.
     * {@code nonFiniteWeight} names the first weight the update left NaN or infinite, or is null.
     */
    record Outcome(double loss, double gradNorm, boolean applied, String nonFiniteWeight, long tokens, long lossTokens,
                   long rows) {
        /** Whether the step left finite weights that it updated: the only kind of step a checkpoint may follow. */
        boolean finite() {
            return applied && nonFiniteWeight == null;
        }
    }

    private final Engine engine;
    private final LlamaModel model;
    private final AdamW adamw;
    private final DataType computeType;
    private final int chunkTokens;
    private final double maxNorm;
    private final NDManager manager;
    private final DataParallel ranks;
    private final GradientReducer reducer;

    /**
     * @param chunkTokens tokens per chunk of the output projection in the loss (bounds the logits' memory)
     * @param maxNorm global gradient-norm limit, 0 for no clipping
     * @param manager parent of each step's temporary scopes
     * @param ranks the job's ranks; {@code reducer} sums their gradients
     */
    OptimizerStep(Engine engine, LlamaModel model, AdamW adamw, DataType computeType, int chunkTokens, double maxNorm,
                  NDManager manager, DataParallel ranks, GradientReducer reducer) {
        this.engine = engine;
        this.model = model;
        this.adamw = adamw;
        this.computeType = computeType;
        this.chunkTokens = chunkTokens;
        this.maxNorm = maxNorm;
        this.manager = manager;
        this.ranks = ranks;
        this.reducer = reducer;
    }

    LlamaModel model() {
        return model;
    }

    AdamW adamw() {
        return adamw;
    }

    /** Trains on this rank's part of {@code batch} at learning rate {@code lr}, together with the other ranks. */
    Outcome take(GlobalBatch batch, double lr) {
        double nllHere = accumulateGradients(batch.mine(), batch.lossTokens());
        Map<String, NDArray> params = model.parameters();
        try (NDManager gradScope = manager.newSubManager()) {
            Map<String, NDArray> grads = reducer.reduce(gradients(params, gradScope), gradScope);
            double loss = ranks.sum(nllHere)[0] / batch.lossTokens();
            double gradNorm = GradClip.clip(List.copyOf(grads.values()), maxNorm);
            boolean finite = Double.isFinite(loss) && Double.isFinite(gradNorm);
            if (finite) {
                adamw.update(params, grads, lr);
            }
            model.zeroGradients();
            String nonFiniteWeight = finite ? FiniteCheck.firstNonFinite(params) : null;
            return new Outcome(loss, gradNorm, finite, nonFiniteWeight, batch.tokens(), batch.lossTokens(), batch.rows());
        }
    }

    /**
     * Forward and backward over each micro-batch, accumulating into the weights' gradients; returns the summed NLL.
     * Each micro-batch's loss is divided by the GLOBAL batch's loss-token count (all ranks' rows), so the gradients
     * summed over micro-batches and ranks are those of the mean over all loss tokens of the global batch, however it
     * is split.
     */
    private double accumulateGradients(List<MicroBatch> batch, long lossTokens) {
        double nllSum = 0;
        // The collector turns autograd on; the pass drives the backward itself (layer by layer with recompute).
        try (GradientCollector collector = engine.newGradientCollector()) {
            for (MicroBatch mb : batch) {
                try (NDManager scope = manager.newSubManager()) {
                    MicroBatch.Arrays b = mb.toNDArrays(scope);
                    TrainingPass pass = model.trainingForward(b.inputIds(), b.positions(), b.segmentIds(), computeType);
                    NDArray nll = MaskedCrossEntropy.sum(model, pass.hidden(), b.targets(), b.lossMask(), chunkTokens);
                    NDArray globalTokens = scope.create((float) lossTokens); // an array, not a Java scalar, inside the graph
                    pass.backward(nll.div(globalTokens));
                    nllSum += nll.getFloat();
                }
            }
        }
        return nllSum;
    }

    /**
     * The weights' gradients, each handle attached to {@code scope}: getGradient() hands out a new handle owned by
     * the weight's manager, which would otherwise leak one array per weight per step.
     */
    private static Map<String, NDArray> gradients(Map<String, NDArray> params, NDManager scope) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> p : params.entrySet()) {
            NDArray g = p.getValue().getGradient();
            g.attach(scope);
            grads.put(p.getKey(), g);
        }
        return grads;
    }
}
