package org.agentflan.trainer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.model.FiniteCheck;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.GradClip;
import org.agentflan.trainer.optim.LossScaler;

/**
 * One optimizer step over a global batch: forward and backward over each of this rank's micro-batches, accumulating
 * the gradients of the mean loss per loss token of the whole global batch; then sum the gradients and the loss over
 * the ranks ({@link GradientReducer}), clip the summed gradient, skip the update when the loss or the gradient norm
 * is not finite, apply AdamW, zero the gradients, and check that the updated weights are still finite (an update can
 * overflow even from a finite gradient). Every rank then holds the same summed gradient, so every rank makes the same
 * decisions and the same update, and the weights stay identical. Every temporary array dies inside the step.
 *
 * <p>Mixed precision: the weights, their gradients and the AdamW moments are fp32; the forward and backward passes
 * run in {@code computeType} on 16-bit copies of the weights cast inside the graph, so each gradient reaches its fp32
 * weight through the cast and accumulates there in fp32. With fp16, the {@link LossScaler} multiplies the loss before
 * each backward pass and the summed gradients are divided by the same scale before clipping; a step whose gradients
 * overflowed is skipped and the scale lowered.
 *
 * <p>Host reads: a GPU runs ahead of the host until the host asks for a value, so the step reads only twice, through
 * {@link #read}: the loss and the gradient norm together before the update (whether to apply it), and one flag after
 * it (whether the weights stayed finite). Nothing inside the micro-batch loop reads: token ids were checked against
 * the vocabulary when the data was loaded, and the loss positions are found on the host ({@link MicroBatch}).
 */
final class OptimizerStep {
    /**
     * What a step did. {@code loss} is the mean over the global batch's loss tokens, {@code gradNorm} the norm before
     * clipping (of the unscaled gradients); {@code applied} is false for a non-finite step, which left weights and
     * moments untouched. {@code nonFiniteWeight} names the first weight the update left NaN or infinite, or is null.
     * {@code lossScale} is the scale this step's loss was multiplied by (1 without fp16 loss scaling), and
     * {@code overflow} says the step was skipped because its scaled gradients overflowed and the scale was lowered:
     * the scaler's normal work, not a sign of divergence. {@code hostReads} counts the step's reads to the host.
     */
    record Outcome(double loss, double gradNorm, boolean applied, String nonFiniteWeight, long tokens, long lossTokens,
                   long rows, double lossScale, boolean overflow, int hostReads) {
        /** Whether the step left finite weights that it updated. */
        boolean finite() {
            return applied && nonFiniteWeight == null;
        }

        /**
         * Whether a checkpoint may follow this step: it updated finite weights, or it was an overflow the scaler
         * handled, which left the last finite weights and moments as they were.
         */
        boolean checkpointable() {
            return finite() || overflow;
        }
    }

    private final Engine engine;
    private final LlamaModel model;
    private final AdamW adamw;
    private final LossScaler scaler;
    private final DataType computeType;
    private final int chunkTokens;
    private final double maxNorm;
    private final NDManager manager;
    private final DataParallel ranks;
    private final GradientReducer reducer;
    private int hostReads;

    /**
     * @param scaler the fp16 loss scaler, or null for no loss scaling
     * @param chunkTokens tokens per chunk of the output projection in the loss (bounds the logits' memory)
     * @param maxNorm global gradient-norm limit, 0 for no clipping
     * @param manager parent of each step's temporary scopes
     * @param ranks the job's ranks; {@code reducer} sums their gradients
     */
    OptimizerStep(Engine engine, LlamaModel model, AdamW adamw, LossScaler scaler, DataType computeType,
                  int chunkTokens, double maxNorm, NDManager manager, DataParallel ranks, GradientReducer reducer) {
        this.engine = engine;
        this.model = model;
        this.adamw = adamw;
        this.scaler = scaler;
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

    /** The loss scaler, or null without fp16 loss scaling. */
    LossScaler scaler() {
        return scaler;
    }

    /** Trains on this rank's part of {@code batch} at learning rate {@code lr}, together with the other ranks. */
    Outcome take(GlobalBatch batch, double lr) {
        hostReads = 0;
        Map<String, NDArray> params = model.parameters();
        float scale = scaler == null ? 1f : scaler.scale();
        try (NDManager stepScope = manager.newSubManager()) {
            NDArray nllHere = accumulateGradients(batch.mine(), batch.lossTokens(), scale, stepScope);
            Map<String, NDArray> grads = reducer.reduce(gradients(params, stepScope), stepScope);
            List<NDArray> gradList = List.copyOf(grads.values());
            if (scale != 1f) {
                NDArray inverse = stepScope.create(1f / scale);
                gradList.forEach(g -> g.muli(inverse)); // exact for a power-of-two scale
            }
            NDArray norm = GradClip.norm(gradList);
            norm.attach(stepScope);
            float[] lossAndNorm = read(NDArrays.stack(new NDList(nllHere, norm)));
            double loss = ranks.sum(lossAndNorm[0])[0] / batch.lossTokens();
            double gradNorm = lossAndNorm[1];
            boolean finite = Double.isFinite(loss) && Double.isFinite(gradNorm);
            // As GradScaler: any non-finite gradient lowers the scale; only one behind a finite loss is an overflow.
            boolean overflow = scaler != null && scaler.update(!finite) == LossScaler.Change.LOWERED && Double.isFinite(loss);
            if (finite) {
                GradClip.clipTo(gradList, maxNorm, gradNorm);
                adamw.update(params, grads, lr);
            }
            model.zeroGradients();
            String nonFiniteWeight = finite && read(FiniteCheck.anyNonFinite(params, stepScope))[0] != 0
                    ? FiniteCheck.firstNonFinite(params) // the run stops: the slow search for the name costs nothing then
                    : null;
            return new Outcome(loss, gradNorm, finite, nonFiniteWeight, batch.tokens(), batch.lossTokens(), batch.rows(),
                    scale, overflow, hostReads);
        }
    }

    /** The values of {@code array} on the host: the step's only way to read the device, counted. */
    private float[] read(NDArray array) {
        hostReads++;
        return array.toFloatArray();
    }

    /**
     * Forward and backward over each micro-batch, accumulating into the weights' gradients; returns the summed NLL as
     * an fp32 scalar in {@code stepScope}, still on the device. Each micro-batch's loss is divided by the GLOBAL batch's
     * loss-token count (all ranks' rows), so the gradients summed over micro-batches and ranks are those of the mean
     * over all loss tokens of the global batch, however it is split; and multiplied by the loss scale.
     */
    private NDArray accumulateGradients(List<MicroBatch> batch, long lossTokens, float scale, NDManager stepScope) {
        NDArray nllSum = stepScope.zeros(new Shape(), DataType.FLOAT32);
        // An array, not a Java scalar, inside the graph; tokens / scale is exact for a power-of-two scale.
        NDArray divisor = stepScope.create((float) (lossTokens / (double) scale));
        // Every micro-batch goes to the device now, while it is idle (the previous step ended with a read): copying a
        // Java array to a GPU waits for the work queued before it, so a copy between two micro-batches would stall.
        List<MicroBatch.Arrays> arrays = new ArrayList<>(batch.size());
        for (MicroBatch mb : batch) {
            arrays.add(mb.toNDArrays(stepScope));
        }
        try (GradientCollector collector = engine.newGradientCollector()) {
            for (MicroBatch.Arrays b : arrays) {
                try (NDManager scope = stepScope.newSubManager()) {
                    b.attach(scope); // the activations belong to the inputs' manager: they die with this micro-batch
                    NDArray hidden = model.forward(b.inputIds(), b.positions(), b.segmentIds(), computeType);
                    NDArray nll = MaskedCrossEntropy.sumAt(model, hidden, b.targets(), b.lossPositions(), chunkTokens);
                    collector.backward(nll.div(divisor));
                    nllSum.addi(nll.stopGradient());
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
