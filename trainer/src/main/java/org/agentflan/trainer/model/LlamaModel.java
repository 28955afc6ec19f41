package org.agentflan.trainer.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llama-2 as plain NDArray ops on DJL's PyTorch engine, in the order of meta-llama's {@code model.py}:
 * RMSNorm, attention (with the rotary embedding of {@link RotaryEmbedding}), SwiGLU feed-forward, decoder block,
 * model. Each block is a record of its weights, built once from the HF checkpoint names; the same arrays are also
 * kept by those names ({@link #parameters()}) for checkpoint IO and the optimizer, so loading is a copy.
 * Weights are fp32 "master" arrays; {@code forward} casts them to the compute dtype inside the graph, so gradients
 * land on the fp32 masters.
 *
 * <p>Memory: every activation belongs to the manager of the input ids (weights are only ever the second
 * operand of an op, and per-step weight casts are attached there too), so closing the batch's manager frees
 * the step. Constants used inside differentiated ops (RMSNorm eps, attention scale) are long-lived arrays
 * owned by the model: Java scalars in differentiated ops corrupt gradients in DJL (docs/design.md section 8).
 */
public final class LlamaModel implements AutoCloseable {

    /**
     * RMSNorm computed in fp32 (as HF does for half precision), then scaled by the weight in the compute dtype.
     * The reciprocal is taken on the small {@code [B,T,1]} statistic so the full tensor sees a multiply, whose
     * backward is cheaper than a division's.
     *
     * @param eps the model's {@code rms_norm_eps} as a long-lived fp32 scalar
     * @param minusHalf the exponent -0.5 as a long-lived fp32 scalar
     */
    record RmsNorm(NDArray weight, NDArray eps, NDArray minusHalf) {
        NDArray forward(NDArray x, DataType type) {
            NDArray scale = inComputeType(weight, type, x.getManager());
            NDArray x32 = Casts.to(x, DataType.FLOAT32);
            NDArray meanSquare = x32.square().mean(new int[] {-1}, true);
            NDArray inverseRms = meanSquare.add(eps).pow(minusHalf);
            return Casts.to(x32.mul(inverseRms), type).mul(scale);
        }
    }

    /**
     * What every layer of one forward pass shares, made once per pass. {@code wholeMask} is the mask of all query
     * rows, made once and shared by the layers when attention is not blocked; null when it is (each block makes its
     * rows' mask).
     */
    record PassInputs(AttentionMask mask, NDArray wholeMask, NDArray cos, NDArray sin, NDArray attentionScale,
                      DataType type, KvCache cache, int attentionBlock) {}

    /**
     * Grouped-query self-attention with rotary embeddings: {@code heads} query heads share {@code kvHeads} key/value
     * heads. {@code layer} indexes the KV cache during generation.
     */
    record Attention(int layer, int heads, int kvHeads, int headDim,
                     NDArray qProj, NDArray kProj, NDArray vProj, NDArray oProj) {
        NDArray forward(NDArray x, PassInputs in) {
            NDArray[] qkv = project(x, in);
            return output(AttentionCore.forward(qkv[0], qkv[1], qkv[2], in.mask(), in.wholeMask(), in.attentionBlock()), in);
        }

        /** {@code {q, k, v}} as {@code [B,H,T,d]}: q rotated and scaled, k rotated, k and v repeated to every head. */
        NDArray[] project(NDArray x, PassInputs in) {
            DataType type = in.type();
            NDManager step = x.getManager();
            long b = x.getShape().get(0);
            long t = x.getShape().get(1);
            NDArray q = linear(x, inComputeType(qProj, type, step)).reshape(b, t, heads, headDim).transpose(0, 2, 1, 3);
            NDArray k = linear(x, inComputeType(kProj, type, step)).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
            NDArray v = linear(x, inComputeType(vProj, type, step)).reshape(b, t, kvHeads, headDim).transpose(0, 2, 1, 3);
            // Scaling q ([B,H,T,d]) rather than the scores ([B,H,T,T]) is the same product on T/d times fewer elements.
            q = RotaryEmbedding.apply(q, in.cos(), in.sin(), headDim).mul(in.attentionScale());
            k = RotaryEmbedding.apply(k, in.cos(), in.sin(), headDim);
            if (in.cache() != null) {
                NDArray[] kv = in.cache().append(layer, k, v);
                k = kv[0];
                v = kv[1];
            }
            if (heads != kvHeads) {
                // Query head h uses KV head h / (heads / kvHeads), i.e. repeat-interleave.
                k = k.repeat(1, heads / kvHeads);
                v = v.repeat(1, heads / kvHeads);
                // With a cache these would belong to the cache's manager and pin every step's keys until the end.
                k.attach(step);
                v.attach(step);
            }
            return new NDArray[] {q, k, v};
        }

        /** The output projection of the attention core's {@code [B,H,T,d]} result. */
        NDArray output(NDArray core, PassInputs in) {
            long b = core.getShape().get(0);
            long t = core.getShape().get(2);
            NDArray out = core.transpose(0, 2, 1, 3).reshape(b, t, (long) heads * headDim);
            return linear(out, inComputeType(oProj, in.type(), core.getManager()));
        }
    }

    /** SwiGLU: {@code down(silu(gate(x)) * up(x))} (Meta's w2(silu(w1(x)) * w3(x))). */
    record FeedForward(NDArray gateProj, NDArray upProj, NDArray downProj) {
        NDArray forward(NDArray x, DataType type) {
            NDManager step = x.getManager();
            NDArray gate = linear(x, inComputeType(gateProj, type, step));
            NDArray up = linear(x, inComputeType(upProj, type, step));
            NDArray silu = gate.mul(gate.getNDArrayInternal().sigmoid());
            return linear(silu.mul(up), inComputeType(downProj, type, step));
        }
    }

    /** Pre-norm decoder block: {@code h = x + attn(norm(x)); out = h + mlp(norm(h))}. */
    record DecoderLayer(RmsNorm inputNorm, Attention selfAttn, RmsNorm postAttentionNorm, FeedForward mlp) {
        NDArray forward(NDArray x, PassInputs in) {
            return feedForward(x.add(selfAttn.forward(inputNorm.forward(x, in.type()), in)), in.type());
        }

        /** The block's second half, {@code h + mlp(norm(h))}, from {@code h = x + attn(norm(x))}. */
        NDArray feedForward(NDArray h, DataType type) {
            return h.add(mlp.forward(postAttentionNorm.forward(h, type), type));
        }
    }

    private final LlamaConfig config;
    private final NDManager manager;
    /** Every weight by its HF checkpoint name, in checkpoint order: the same arrays the blocks below hold. */
    private final LinkedHashMap<String, NDArray> parameters;
    private final NDArray embedTokens;
    private final List<DecoderLayer> layers;
    private final RmsNorm norm;
    /** {@code lm_head.weight}, or the token embedding when tied. */
    private final NDArray lmHead;
    private final RotaryEmbedding rope;
    private final Map<DataType, NDArray> attentionScale = new HashMap<>();
    private boolean trainable;
    private ActivationOptions activations = ActivationOptions.NONE;

    private LlamaModel(LlamaConfig config, NDManager manager, LinkedHashMap<String, NDArray> parameters) {
        this.config = config;
        this.manager = manager;
        this.parameters = parameters;
        this.rope = new RotaryEmbedding(config.headDim(), config.maxPositionEmbeddings(), config.ropeTheta(), manager);
        NDArray eps = manager.create((float) config.rmsNormEps());
        NDArray minusHalf = manager.create(-0.5f);
        // The weights and constants live as long as the model, whatever NDScope the caller built it in.
        NDScope.unregister(eps, minusHalf);
        NDScope.unregister(parameters.values().toArray(new NDArray[0]));
        this.embedTokens = parameters.get("model.embed_tokens.weight");
        List<DecoderLayer> blocks = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            Attention attention = new Attention(i, config.numAttentionHeads(), config.numKeyValueHeads(),
                    config.headDim(), parameters.get(p + "self_attn.q_proj.weight"),
                    parameters.get(p + "self_attn.k_proj.weight"), parameters.get(p + "self_attn.v_proj.weight"),
                    parameters.get(p + "self_attn.o_proj.weight"));
            FeedForward mlp = new FeedForward(parameters.get(p + "mlp.gate_proj.weight"),
                    parameters.get(p + "mlp.up_proj.weight"), parameters.get(p + "mlp.down_proj.weight"));
            blocks.add(new DecoderLayer(new RmsNorm(parameters.get(p + "input_layernorm.weight"), eps, minusHalf),
                    attention, new RmsNorm(parameters.get(p + "post_attention_layernorm.weight"), eps, minusHalf), mlp));
        }
        this.layers = List.copyOf(blocks);
        this.norm = new RmsNorm(parameters.get("model.norm.weight"), eps, minusHalf);
        this.lmHead = config.tieWordEmbeddings() ? embedTokens : parameters.get("lm_head.weight");
    }

    /**
     * A randomly initialised model, HF style: normal(0, 0.02) for linear and embedding weights, ones for norms.
     * The same seed gives the same weights on the same engine.
     */
    public static LlamaModel create(LlamaConfig config, NDManager parent, long seed) {
        requireValid(config);
        NDManager manager = parent.newSubManager();
        Engine.getInstance().setRandomSeed((int) seed);
        LinkedHashMap<String, NDArray> parameters = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> entry : config.parameterShapes().entrySet()) {
            Shape shape = new Shape(entry.getValue());
            NDArray weight = entry.getKey().endsWith("norm.weight")
                    ? manager.ones(shape, DataType.FLOAT32)
                    : manager.randomNormal(0f, 0.02f, shape, DataType.FLOAT32);
            weight.setName(entry.getKey());
            parameters.put(entry.getKey(), weight);
        }
        return new LlamaModel(config, manager, parameters);
    }

    /**
     * A model whose fp32 weights are allocated but not initialised (their contents are undefined), to be filled in
     * place, e.g. by {@code HfCheckpoint.loadInto}: a load then needs no memory beyond the weights themselves and
     * touches each weight once, instead of initialising or copying it first.
     */
    public static LlamaModel allocate(LlamaConfig config, NDManager parent) {
        requireValid(config);
        NDManager manager = parent.newSubManager();
        LinkedHashMap<String, NDArray> parameters = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> entry : config.parameterShapes().entrySet()) {
            NDArray weight = manager.create(new Shape(entry.getValue()), DataType.FLOAT32);
            weight.setName(entry.getKey());
            parameters.put(entry.getKey(), weight);
        }
        return new LlamaModel(config, manager, parameters);
    }

    private static void requireValid(LlamaConfig config) {
        List<String> problems = config.problems();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid Llama config: " + String.join("; ", problems));
        }
    }

    /**
     * Final hidden states {@code [B,T,H]} (after the last RMSNorm) of a packed batch, in {@code computeType}.
     *
     * @param inputIds {@code [B,T]} int64 token ids
     * @param positions {@code [B,T]} int64 positions, restarting at 0 for each packed sample
     * @param segmentIds {@code [B,T]} int32: 1..k number the samples of a row, 0 marks padding
     * @param computeType FLOAT32 or FLOAT16 on CPU; FLOAT16 or BFLOAT16 on GPU (BF16 arrays crash DJL on CPU)
     *
     * <p>The ids must lie in {@code [0, vocab_size)} and the positions in {@code [0, max_position_embeddings)}: they
     * are not checked here, because a check reads the device from the host on every pass. The callers check them on
     * the host where the data is read (training data when loaded, {@code score} input when parsed, {@code generate}'s
     * prompt once).
     */
    public NDArray forward(NDArray inputIds, NDArray positions, NDArray segmentIds, DataType computeType) {
        checkComputeType(computeType);
        PassInputs in = passInputs(AttentionMask.packed(segmentIds, computeType), positions, computeType, null);
        NDArray x = decoderLayers(embed(inputIds, computeType), in);
        return norm.forward(x, computeType);
    }

    /**
     * The forward pass of a training step, with the backward that goes with it ({@link TrainingPass}): the plain
     * autograd graph, or, with {@link ActivationOptions#recompute()} or a blocked attention, a pass driven layer by
     * layer that keeps less. Arguments as for {@link #forward(NDArray, NDArray, NDArray, DataType)}; call it under a
     * gradient collector, on a trainable model.
     */
    public TrainingPass trainingForward(NDArray inputIds, NDArray positions, NDArray segmentIds, DataType computeType) {
        if (!activations.layerwise()) {
            return TrainingPass.wholeGraph(forward(inputIds, positions, segmentIds, computeType));
        }
        checkComputeType(computeType);
        PassInputs in = passInputs(AttentionMask.packed(segmentIds, computeType), positions, computeType, null);
        return TrainingPass.layerwise(embed(inputIds, computeType), layers, norm, in, activations.recompute());
    }

    /**
     * Hidden states of {@code inputIds [1,T]} continuing the sequence held in {@code cache}, which is extended
     * by these T tokens. Used for generation: a prompt first, then one token at a time.
     */
    public NDArray forward(NDArray inputIds, KvCache cache, DataType computeType) {
        return forward(inputIds, cache, new int[] {0}, computeType);
    }

    /**
     * Hidden states of a batch {@code inputIds [B,T]} continuing the sequences held in {@code cache}, which is
     * extended by these T tokens per row. The rows are left-padded to one length: row b's first {@code leftPad[b]}
     * positions (prompt padding, any token id) are seen by no real token, and its real tokens take positions
     * 0, 1, ... from the first one after the padding, so each row computes what it would alone.
     */
    public NDArray forward(NDArray inputIds, KvCache cache, int[] leftPad, DataType computeType) {
        checkComputeType(computeType);
        NDManager step = inputIds.getManager();
        int past = cache.length();
        int t = (int) inputIds.getShape().get(1);
        if (inputIds.getShape().get(0) != leftPad.length) {
            throw new IllegalArgumentException("batch of " + inputIds.getShape().get(0) + " rows with " + leftPad.length
                    + " padding lengths");
        }
        int longest = past + t - Arrays.stream(leftPad).min().orElse(0); // the longest row without its padding
        if (longest > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("sequence of " + longest + " tokens exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        // Padding positions would be negative; they are clamped to 0 and masked out.
        NDArray pads = step.create(leftPad).toType(DataType.INT64, false).reshape(leftPad.length, 1);
        NDArray positions = step.arange(past, past + t, 1, DataType.INT64).expandDims(0).sub(pads).maximum(0L);
        PassInputs in = passInputs(AttentionMask.causal(step, past, t, leftPad, computeType), positions, computeType, cache);
        NDArray x = decoderLayers(embed(inputIds, computeType), in);
        cache.advance(t);
        return norm.forward(x, computeType);
    }

    /** Float32 logits {@code [..., V]} of hidden states (the full vocabulary: for scoring and generation, not the loss). */
    public NDArray logits(NDArray hidden) {
        NDArray head = inComputeType(lmHead, hidden.getDataType(), hidden.getManager());
        return Casts.to(linear(hidden, head), DataType.FLOAT32);
    }

    /** The mask of all rows is made once and shared by the layers, unless attention runs in blocks of rows. */
    private PassInputs passInputs(AttentionMask mask, NDArray positions, DataType type, KvCache cache) {
        int block = activations.attentionBlock();
        NDArray wholeMask = block > 0 && block < mask.queries() ? null : mask.rows(0, mask.queries());
        NDArray[] cosSin = rope.lookUp(positions, type);
        return new PassInputs(mask, wholeMask, cosSin[0], cosSin[1], scale(type), type, cache, block);
    }

    private NDArray embed(NDArray inputIds, DataType type) {
        NDArray x = Embedding.embedding(inputIds.toType(DataType.INT64, false), embedTokens, SparseFormat.DENSE)
                .singletonOrThrow();
        return Casts.to(x, type);
    }

    /**
     * Runs the decoder layers, closing each layer's intermediate handles as soon as its output exists. Autograd keeps
     * its own references to what backward needs and frees them node by node during backward; a DJL handle left open
     * until the end of the step would pin every activation through the whole backward pass instead.
     */
    private NDArray decoderLayers(NDArray x, PassInputs in) {
        for (DecoderLayer layer : layers) {
            NDArray input = x;
            try (NDScope scope = new NDScope()) {
                x = layer.forward(input, in);
                NDScope.unregister(x);
            }
            input.close();
        }
        return x;
    }

    private void checkComputeType(DataType type) {
        if (type != DataType.FLOAT32 && type != DataType.FLOAT16 && type != DataType.BFLOAT16) {
            throw new IllegalArgumentException("compute dtype must be float32, float16 or bfloat16, got " + type);
        }
        if (type == DataType.BFLOAT16 && !manager.getDevice().isGpu()) {
            // DJL 0.36 aborts the JVM on BF16 arrays on CPU; refuse before creating one.
            throw new IllegalArgumentException("bfloat16 compute needs a GPU; use float32 on " + manager.getDevice());
        }
    }

    /** {@code 1/sqrt(headDim)} in the compute dtype, made once per dtype and kept for the model's lifetime. */
    private synchronized NDArray scale(DataType type) {
        return attentionScale.computeIfAbsent(type, t -> {
            NDArray scale = manager.create((float) (1.0 / Math.sqrt(config.headDim())));
            NDArray typed = scale.toType(t, false);
            NDScope.unregister(scale, typed); // long-lived: must survive any scope the first step runs in
            return typed;
        });
    }

    private static NDArray linear(NDArray x, NDArray weight) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    /** A master weight in the compute dtype; a cast copy belongs to the step's manager so it dies with the step. */
    private static NDArray inComputeType(NDArray master, DataType type, NDManager step) {
        if (type == DataType.FLOAT32) {
            return master;
        }
        return Casts.to(master, type, step);
    }

    public LlamaConfig config() {
        return config;
    }

    /** The fp32 master weights by HF checkpoint name, in checkpoint order (the live arrays, not copies). */
    public LinkedHashMap<String, NDArray> parameters() {
        return parameters;
    }

    /** The output projection: {@code lm_head.weight}, or the token embedding when tied. */
    public NDArray headWeight() {
        return lmHead;
    }

    /** The manager owning the weights and the model's long-lived constants. */
    public NDManager manager() {
        return manager;
    }

    /** Marks every weight as requiring a gradient (training) or not (scoring, generation). */
    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
        for (NDArray weight : parameters.values()) {
            weight.setRequiresGradient(trainable);
        }
    }

    /** How the forward passes keep activations: recompute and attention block (both off by default). */
    public void setActivationOptions(ActivationOptions options) {
        this.activations = options;
    }

    public ActivationOptions activationOptions() {
        return activations;
    }

    /** Whether {@link #setTrainable} asked for gradients. */
    public boolean isTrainable() {
        return trainable;
    }

    /**
     * Sets every weight's accumulated gradient to zero in place, through libtorch's {@code zero_()} on the gradient.
     * Not {@code grad - grad}: that leaves a NaN gradient NaN, and a skipped non-finite step must not poison the next.
     * Not {@code GradientCollector.zeroGradients()}: it scans every array in the JVM and leaks gradient handles.
     */
    public void zeroGradients() {
        if (!trainable) {
            return;
        }
        for (NDArray weight : parameters.values()) {
            JniUtils.zeroGrad((PtNDArray) weight);
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
