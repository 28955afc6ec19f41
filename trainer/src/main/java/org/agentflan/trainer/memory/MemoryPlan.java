package org.agentflan.trainer.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.agentflan.trainer.model.ActivationOptions;
import org.agentflan.trainer.model.LlamaConfig;

/**
 * The bytes one device holds at the peak of a training step, item by item, counted from what this code keeps alive:
 * the tensors autograd saves for each op of {@code LlamaModel} (listed in {@link #layerSaved}), the handles a step
 * holds, and the temporaries of the loss, the backward pass and AdamW. {@code MemoryPlanMeasuredTest} holds it to the
 * measured peak of small and medium models on CPU within 15%.
 *
 * <p>The peak of a step is the larger of two moments that never overlap: the end of the forward pass and the backward
 * of the last layer (weights, gradients, moments, activations, loss and backward temporaries), and AdamW's update after
 * the backward (weights, gradients, moments, AdamW's temporaries; the activations are gone by then).
 *
 * @param items every item, in the order printed
 * @param totalBytes the peak: the static items plus the larger of the two moments above
 */
public record MemoryPlan(List<Item> items, long totalBytes) {

    /** One line of the budget: a name (snake_case, as in {@code plan --json}), its bytes and what it is. */
    public record Item(String name, long bytes, String what) {}

    /**
     * What the plan depends on.
     *
     * @param microBatch rows per forward pass ({@code batch.micro_batch})
     * @param seqLen tokens per row ({@code data.seq_len})
     * @param computeBytes bytes per element of the compute dtype (4 fp32, 2 fp16/bf16)
     * @param chunkTokens loss tokens projected onto the vocabulary at once ({@code model.chunk_tokens})
     * @param optimizerShards ranks the AdamW moments are split over (1: every rank holds all of them; with
     *     {@code distributed.zero_stage: 1}, the data-parallel ranks)
     * @param runtimeReserve bytes the runtime itself takes on the device before any tensor (CUDA context, the JVM and
     *     libtorch on CPU)
     */
    public record Shape(int microBatch, int seqLen, int computeBytes, ActivationOptions activations, int chunkTokens,
                        int optimizerShards, long runtimeReserve) {}

    private static final int FP32 = 4;

    public static MemoryPlan of(LlamaConfig model, Shape shape) {
        long params = model.parameterCount();
        long layerParams = layerParameters(model);
        int c = shape.computeBytes();
        boolean half = c < FP32;
        ActivationOptions act = shape.activations();
        int layers = model.numHiddenLayers();
        long tokens = (long) shape.microBatch() * shape.seqLen();
        long h = model.hiddenSize();
        long vocab = model.vocabSize();
        long hidden = tokens * h;

        List<Item> items = new ArrayList<>();
        items.add(new Item("weights_fp32", FP32 * params, "fp32 master weights (the optimizer updates these)"));
        // Each layer casts its weights to the compute dtype inside the graph; the casts live as long as the graph that
        // saved them: every layer's without recompute, one layer's with it.
        long castLayers = !half ? 0 : act.recompute() ? 1 : layers;
        items.add(new Item("weights_compute_copy", castLayers * layerParams * c,
                half ? "compute-dtype casts of " + castLayers + " layer(s)' weights, held by the graph" : "none: fp32 compute uses the masters"));
        items.add(new Item("gradients", FP32 * params, "fp32 gradients of the masters"));
        items.add(new Item("optimizer_moments", 2L * FP32 * params / shape.optimizerShards(),
                "AdamW exp_avg and exp_avg_sq, fp32" + (shape.optimizerShards() > 1 ? ", split over "
                        + shape.optimizerShards() + " ranks" : "")));

        // What the forward pass keeps for the backward besides the layers. The embedding output: in fp32 it is layer
        // 0's input, which that layer's norm keeps (counted there) unless recompute leaves it to the pass; in half
        // precision its fp32 form stays alive, and with recompute its cast too. The top: the last layer's output and
        // the final norm's input (fp32) and output.
        long embedding = half ? hidden * (FP32 + (act.recompute() ? c : 0)) : act.recompute() ? hidden * FP32 : 0;
        long top = half ? hidden * (FP32 + 2L * c) : 2 * hidden * FP32;
        long kept = act.recompute()
                ? (layers - 1L) * hidden * c + layerSaved(model, shape, tokens)
                : layers * layerSaved(model, shape, tokens);
        items.add(new Item("activations", embedding + top + kept, act.recompute()
                ? "each layer's input, plus one recomputed layer's graph"
                : "every layer's saved tensors (" + layers + " x " + layerSaved(model, shape, tokens) + " bytes)"));

        long selected = hidden; // every token may carry loss: the plan is for the worst batch
        long chunk = Math.min(shape.chunkTokens(), tokens);
        // Loss: the selected hidden rows, their gradient (chunks and their concatenation) and the surrogate's product;
        // the head's gradient and its product with the head; a chunk's logits, log-probs, probs and one-hot in fp32.
        long lossKept = 4 * selected * c + 2 * vocab * h * FP32 + (half ? vocab * h * c : 0);
        long lossChunk = chunk * vocab * (4L * FP32 + (half ? 2L * c : 0)) + vocab * h * FP32;
        items.add(new Item("logits_loss", lossKept + lossChunk,
                "chunked cross-entropy: " + chunk + "-token chunks of [chunk, vocab] logits, the head's fp32 gradient"));
        long backward = layerBackward(model, shape, tokens);
        items.add(new Item("backward_workspace", backward,
                "the largest temporaries of one layer's backward (attention scores' gradients, MLP gradients)"));
        // AdamW's update of the largest weight: g*(1-b1), g*g*(1-b2), the denominator and the step, fp32 each.
        long largest = Math.max(vocab * h, h * (long) model.intermediateSize());
        long optimizer = 4 * largest * FP32;
        String optimizerWhat = "AdamW's temporaries for the largest weight (after the backward: never with the activations)";
        if (shape.optimizerShards() > 1) {
            // ZeRO-1 reduce-scatters the gradients into one slice-sized fp32 array before AdamW updates the slice.
            optimizer += FP32 * ((params + shape.optimizerShards() - 1) / shape.optimizerShards());
            optimizerWhat += ", and the reduced fp32 gradient slice of ZeRO-1";
        }
        items.add(new Item("optimizer_workspace", optimizer, optimizerWhat));
        items.add(new Item("runtime_reserve", shape.runtimeReserve(), "the runtime before any tensor"));

        long fixed = 0;
        for (Item item : items.subList(0, 4)) {
            fixed += item.bytes();
        }
        long step = embedding + top + kept + lossKept + lossChunk + backward;
        return new MemoryPlan(List.copyOf(items), fixed + Math.max(step, optimizer) + shape.runtimeReserve());
    }

    /**
     * What one decoder layer's graph keeps for the backward, op by op ({@code N} tokens, hidden {@code H},
     * intermediate {@code I}, {@code c} bytes per compute element):
     * <ul>
     *   <li>two RMSNorms: each keeps its input in fp32 (the layer input or {@code h}; a fp32 copy in half precision)
     *   and its normalized output, {@code 2 x N x H x (4 + c)};</li>
     *   <li>attention: q, k and v after RoPE and the repeat for grouped-query heads, and the core's output before the
     *   output projection, {@code 4 x N x H x c}; the probabilities {@code B x heads x T x T} (an fp32 copy too in half
     *   precision), or, with blocks, none of them but the core's output leaf ({@code N x H x c});</li>
     *   <li>SwiGLU: gate, sigmoid(gate), silu, up and their product, {@code 5 x N x I x c}.</li>
     * </ul>
     */
    static long layerSaved(LlamaConfig model, Shape shape, long tokens) {
        int c = shape.computeBytes();
        long hidden = tokens * model.hiddenSize();
        long norms = 2 * hidden * (FP32 + c);
        long attention = 4 * hidden * c + (blocked(shape) ? hidden * c : scores(model, shape, shape.seqLen()) * probBytes(c));
        long mlp = 5 * tokens * model.intermediateSize() * c;
        return norms + attention + mlp;
    }

    /**
     * The largest temporaries of one layer's backward: the gradient of the probabilities and of the scores for one
     * block of query rows (all rows without blocks), next to its recomputed probabilities when blocked; or the MLP's
     * {@code [N, I]} gradients, whichever is larger; plus the layer's {@code [N, H]} gradients.
     */
    private static long layerBackward(LlamaConfig model, Shape shape, long tokens) {
        int c = shape.computeBytes();
        int rows = blocked(shape) ? shape.activations().attentionBlock() : shape.seqLen();
        long scoreGrads = scores(model, shape, rows) * (2L * probBytes(c) + (blocked(shape) ? probBytes(c) : 0));
        long mlpGrads = 3 * tokens * model.intermediateSize() * c;
        return Math.max(scoreGrads, mlpGrads) + 3 * tokens * model.hiddenSize() * FP32;
    }

    private static boolean blocked(Shape shape) {
        int block = shape.activations().attentionBlock();
        return block > 0 && block < shape.seqLen();
    }

    /** Elements of the scores of {@code rows} query rows against every key: {@code B x heads x rows x T}. */
    private static long scores(LlamaConfig model, Shape shape, long rows) {
        return (long) shape.microBatch() * model.numAttentionHeads() * rows * shape.seqLen();
    }

    /** Bytes per probability: the softmax runs in fp32, and half precision keeps its cast back as well. */
    private static int probBytes(int c) {
        return c < FP32 ? FP32 + c : FP32;
    }

    /** Weights of one decoder layer (the per-layer casts). */
    private static long layerParameters(LlamaConfig model) {
        long h = model.hiddenSize();
        long kv = (long) model.numKeyValueHeads() * model.headDim();
        return 2 * h * h + 2 * h * kv + 3 * h * model.intermediateSize() + 2 * h;
    }

    /** Bytes as GiB with two decimals, for people. */
    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
