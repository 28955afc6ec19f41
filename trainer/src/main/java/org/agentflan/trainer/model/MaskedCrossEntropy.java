package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;

/**
 * Masked next-token cross-entropy over the LM head, computed a chunk of tokens at a time so that no
 * {@code [B,T,V]} float32 tensor ever exists: not in the forward pass and not saved for the backward pass.
 *
 * <p>Only tokens whose mask is non-zero are projected at all. When {@code hidden} is part of an autograd graph,
 * each chunk's gradient is computed right away ({@code softmax - onehot}, the closed form of the cross-entropy
 * gradient) and folded into {@code dHidden [n,H]} and {@code dHead [V,H]}; the returned scalar is
 * {@code loss + (s - stop(s))} with {@code s = sum(hidden * stop(dHidden)) + sum(head * stop(dHead))}, whose
 * value is the loss and whose gradient is exactly those two tensors. Peak extra memory is one chunk of logits plus
 * one head-sized fp32 gradient buffer, instead of every chunk's log-probs held for backward.
 */
public final class MaskedCrossEntropy {
    private MaskedCrossEntropy() {
    }

    /**
     * Sum over tokens of {@code NLL(targets)} where {@code lossMask != 0} (mask values are 0/1; the caller divides
     * by the number of loss tokens in the global batch). Returns an fp32 scalar in the manager of {@code hidden}.
     *
     * @param hidden {@code [B,T,H]} final hidden states from {@link LlamaModel#forward}
     * @param targets {@code [B,T]} int64: the token each position must predict (the next input id)
     * @param lossMask {@code [B,T]} 0/1 (any integer or float type)
     * @param chunkTokens tokens projected onto the vocabulary at once; memory is {@code chunkTokens * V * 4} bytes a few times over
     */
    public static NDArray sum(LlamaModel model, NDArray hidden, NDArray targets, NDArray lossMask, int chunkTokens) {
        // nonzero() must learn its result's size, a copy to the host: the training step passes positions made on the host.
        return sumAt(model, hidden, targets, lossMask.reshape(-1).neq(0).nonzero().reshape(-1), chunkTokens);
    }

    /**
     * {@link #sum}, the loss tokens given as their flat positions in {@code [B*T]} ({@code lossPositions}: int64
     * {@code [n]}, in increasing order), known on the host when the batch is built ({@code MicroBatch}): nothing here
     * waits for the device.
     */
    public static NDArray sumAt(LlamaModel model, NDArray hidden, NDArray targets, NDArray lossPositions, int chunkTokens) {
        if (chunkTokens <= 0) {
            throw new IllegalArgumentException("chunkTokens must be > 0, got " + chunkTokens);
        }
        NDManager step = hidden.getManager();
        DataType type = hidden.getDataType();
        long h = hidden.getShape().get(hidden.getShape().dimension() - 1);
        int vocab = model.config().vocabSize();
        NDArray flatHidden = hidden.reshape(-1, h);
        NDArray selected = lossPositions;
        long n = selected.size();
        // NDArray.hasGradient() is false for non-leaf results in DJL's PyTorch engine, so ask autograd directly:
        // gradients are wanted when the weights require them and a GradientCollector has grad mode on.
        boolean differentiable = model.isTrainable() && JniUtils.isGradMode();
        if (n == 0) {
            // No loss tokens: a zero that is still connected to the graph, so backward() works and yields zeros.
            return Casts.to(flatHidden.sum(), DataType.FLOAT32).mul(step.zeros(new Shape(), DataType.FLOAT32));
        }
        // Embedding lookup is a differentiable row gather: its backward scatters dHidden into the selected rows.
        NDArray hiddenSel = Embedding.embedding(selected, flatHidden, SparseFormat.DENSE).singletonOrThrow();
        NDArray targetSel = targets.reshape(-1).toType(DataType.INT64, false).gather(selected, 0);
        NDArray master = model.headWeight();
        NDArray head = detachedHead(model, step, type);
        NDArray hiddenData = hiddenSel.stopGradient();
        NDArray total = step.zeros(new Shape(), DataType.FLOAT32);
        List<NDArray> hiddenGrads = new ArrayList<>();
        NDArray headGrad = differentiable ? step.zeros(master.getShape(), DataType.FLOAT32) : null;
        for (long start = 0; start < n; start += chunkTokens) {
            // Each chunk's [chunk, V] temporaries are closed before the next chunk: nothing vocabulary-sized piles up.
            try (NDScope scope = new NDScope()) {
                long end = Math.min(n, start + chunkTokens);
                NDArray chunk = hiddenData.get(start + ":" + end);
                NDArray chunkTargets = targetSel.get(start + ":" + end);
                NDArray logProbs = logProbs(chunk, head);
                total.subi(logProbs.gather(chunkTargets.expandDims(1), 1).sum());
                if (differentiable) {
                    NDArray dLogits = logProbs.exp().subi(chunkTargets.oneHot(vocab, DataType.FLOAT32));
                    NDArray dChunk = dLogits.toType(type, false).matMul(head);
                    NDScope.unregister(dChunk);
                    hiddenGrads.add(dChunk);
                    headGrad.addi(dLogits.transpose().matMul(chunk.toType(DataType.FLOAT32, false)));
                }
            }
        }
        if (!differentiable) {
            return total;
        }
        NDArray dHidden = hiddenGrads.size() == 1 ? hiddenGrads.get(0) : NDArrays.concat(new NDList(hiddenGrads), 0);
        NDArray surrogate = Casts.to(hiddenSel.mul(dHidden).sum(), DataType.FLOAT32).add(headGrad.mul(master).sum());
        return surrogate.sub(surrogate.stopGradient()).add(total);
    }

    /**
     * The NLL of the target at each of {@code positions}, outside any autograd graph (for eval): an fp32 {@code [n]}
     * array in the manager of {@code hidden}, in the order of {@code positions}. Chunked like {@link #sum}, so no
     * {@code [B,T,V]} tensor exists; a caller reduces it with masks on the device and reads back only the sums.
     *
     * @param positions {@code [n]} int64 indices into the flattened {@code [B*T]} positions
     */
    public static NDArray perToken(LlamaModel model, NDArray hidden, NDArray targets, NDArray positions, int chunkTokens) {
        if (chunkTokens <= 0) {
            throw new IllegalArgumentException("chunkTokens must be > 0, got " + chunkTokens);
        }
        NDManager step = hidden.getManager();
        long n = positions.size();
        if (n == 0) {
            return step.zeros(new Shape(0), DataType.FLOAT32);
        }
        long h = hidden.getShape().get(hidden.getShape().dimension() - 1);
        NDArray selected = Embedding.embedding(positions, hidden.stopGradient().reshape(-1, h), SparseFormat.DENSE)
                .singletonOrThrow();
        NDArray targetSel = targets.reshape(-1).toType(DataType.INT64, false).gather(positions, 0);
        NDArray head = detachedHead(model, step, hidden.getDataType());
        List<NDArray> chunks = new ArrayList<>();
        for (long start = 0; start < n; start += chunkTokens) {
            try (NDScope scope = new NDScope()) {
                long end = Math.min(n, start + chunkTokens);
                NDArray chunkTargets = targetSel.get(start + ":" + end);
                NDArray nll = logProbs(selected.get(start + ":" + end), head)
                        .gather(chunkTargets.expandDims(1), 1).reshape(-1).neg();
                NDScope.unregister(nll);
                chunks.add(nll);
            }
        }
        return chunks.size() == 1 ? chunks.get(0) : NDArrays.concat(new NDList(chunks), 0);
    }

    /** The LM head's weight outside the graph, in {@code step}, cast to the compute type. */
    private static NDArray detachedHead(LlamaModel model, NDManager step, DataType type) {
        NDArray head = model.headWeight().stopGradient();
        head.attach(step);
        return type == DataType.FLOAT32 ? head : head.toType(type, false);
    }

    /** fp32 log-softmax over the vocabulary of one chunk of hidden states {@code [c,H]}. */
    private static NDArray logProbs(NDArray chunk, NDArray head) {
        return Linear.linear(chunk, head).singletonOrThrow().toType(DataType.FLOAT32, false).logSoftmax(-1);
    }

    /** Mean NLL over the masked tokens of this batch alone (for scoring); NaN when no token is masked in. */
    public static float mean(LlamaModel model, NDArray hidden, NDArray targets, NDArray lossMask, int chunkTokens) {
        long count = lossMask.neq(0).sum().getLong();
        if (count == 0) {
            return Float.NaN;
        }
        return sum(model, hidden, targets, lossMask, chunkTokens).getFloat() / count;
    }
}
