package org.agentflan.trainer.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Llama-2 hyper-parameters, bound directly from a Hugging Face {@code config.json} so a checkpoint's own
 * config is the source of truth. Keys that do not change the function we compute are ignored on read (real files
 * carry many: pretraining_tp, which only splits HF's matmuls, transformers_version, ...); keys that would change it
 * and are not implemented (rope_scaling, attention_bias, mlp_bias, a decoupled head_dim) are refused by {@link #read}.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LlamaConfig(
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("hidden_size") int hiddenSize,
        @JsonProperty("intermediate_size") int intermediateSize,
        @JsonProperty("num_hidden_layers") int numHiddenLayers,
        @JsonProperty("num_attention_heads") int numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("rms_norm_eps") double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("max_position_embeddings") int maxPositionEmbeddings,
        @JsonProperty("tie_word_embeddings") boolean tieWordEmbeddings,
        @JsonProperty("bos_token_id") Integer bosTokenId,
        @JsonProperty("eos_token_id") Integer eosTokenId,
        @JsonProperty("torch_dtype") String torchDtype,
        @JsonProperty("architectures") List<String> architectures,
        @JsonProperty("model_type") String modelType,
        @JsonProperty("hidden_act") String hiddenAct) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Fills HF's defaults for keys older configs omit (no GQA, theta 10000, Llama architecture). */
    public LlamaConfig {
        if (numKeyValueHeads == null) {
            numKeyValueHeads = numAttentionHeads;
        }
        if (ropeTheta == null) {
            ropeTheta = 10000.0;
        }
        if (bosTokenId == null) {
            bosTokenId = 1;
        }
        if (eosTokenId == null) {
            eosTokenId = 2;
        }
        if (torchDtype == null) {
            torchDtype = "float32";
        }
        if (architectures == null) {
            architectures = List.of("LlamaForCausalLM");
        }
        architectures = List.copyOf(architectures);
        if (modelType == null) {
            modelType = "llama";
        }
        if (hiddenAct == null) {
            hiddenAct = "silu";
        }
    }

    /** The common shape of every named size; only the numbers differ. */
    private static LlamaConfig of(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads,
                                  double eps, int maxPos, boolean tied, String dtype) {
        return new LlamaConfig(vocab, hidden, intermediate, layers, heads, kvHeads, eps, 10000.0, maxPos, tied,
                1, 2, dtype, List.of("LlamaForCausalLM"), "llama", "silu");
    }

    /** meta-llama/Llama-2-7b-hf (and -chat). */
    public static LlamaConfig llama2_7b() {
        return of(32000, 4096, 11008, 32, 32, 32, 1e-5, 4096, false, "float16");
    }

    /** meta-llama/Llama-2-13b-hf (and -chat). */
    public static LlamaConfig llama2_13b() {
        return of(32000, 5120, 13824, 40, 40, 40, 1e-5, 4096, false, "float16");
    }

    /** meta-llama/Llama-2-70b-hf (and -chat): grouped-query attention with 8 KV heads. */
    public static LlamaConfig llama2_70b() {
        return of(32000, 8192, 28672, 80, 64, 8, 1e-5, 4096, false, "float16");
    }

    /** A small Llama for CPU tests (about 4.3M parameters, mostly embeddings): same architecture, grouped KV heads, Llama-2's vocabulary. */
    public static LlamaConfig tiny() {
        return of(32000, 64, 172, 2, 4, 2, 1e-5, 512, false, "float32");
    }

    /** Returns a copy with another {@code torch_dtype}, the dtype recorded for the weights on disk. */
    public LlamaConfig withTorchDtype(String dtype) {
        return new LlamaConfig(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, rmsNormEps, ropeTheta, maxPositionEmbeddings, tieWordEmbeddings, bosTokenId,
                eosTokenId, dtype, architectures, modelType, hiddenAct);
    }

    /** Size of one attention head. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Every problem with the numbers at once (empty when the config describes a buildable Llama). */
    public List<String> problems() {
        List<String> problems = new ArrayList<>();
        positive(problems, "vocab_size", vocabSize);
        positive(problems, "hidden_size", hiddenSize);
        positive(problems, "intermediate_size", intermediateSize);
        positive(problems, "num_hidden_layers", numHiddenLayers);
        positive(problems, "num_attention_heads", numAttentionHeads);
        positive(problems, "num_key_value_heads", numKeyValueHeads);
        positive(problems, "max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads > 0 && hiddenSize % numAttentionHeads != 0) {
            problems.add("hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        } else if (numAttentionHeads > 0 && headDim() % 2 != 0) {
            problems.add("head size " + headDim() + " (hidden_size / num_attention_heads) must be even for rotary embeddings");
        }
        if (numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads != 0) {
            problems.add("num_attention_heads " + numAttentionHeads + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (!(rmsNormEps > 0)) {
            problems.add("rms_norm_eps must be > 0, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0)) {
            problems.add("rope_theta must be > 0, got " + ropeTheta);
        }
        if (!"llama".equals(modelType)) {
            problems.add("model_type must be \"llama\", got \"" + modelType + "\"");
        }
        if (!"silu".equals(hiddenAct)) {
            problems.add("hidden_act must be \"silu\" (SwiGLU), got \"" + hiddenAct + "\"");
        }
        return problems;
    }

    private static void positive(List<String> problems, String key, int value) {
        if (value <= 0) {
            problems.add(key + " must be > 0, got " + value);
        }
    }

    /**
     * Every parameter's HF key and shape, in checkpoint order: embeddings, then per layer attention
     * (q, k, v, o), MLP (gate, up, down) and the two norms, then the final norm and the LM head (absent when tied).
     */
    public Map<String, long[]> parameterShapes() {
        long h = hiddenSize;
        long kv = (long) numKeyValueHeads * headDim();
        long inter = intermediateSize;
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {vocabSize, h});
        for (int i = 0; i < numHiddenLayers; i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "self_attn.q_proj.weight", new long[] {h, h});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {h, h});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {inter, h});
            shapes.put(p + "mlp.up_proj.weight", new long[] {inter, h});
            shapes.put(p + "mlp.down_proj.weight", new long[] {h, inter});
            shapes.put(p + "input_layernorm.weight", new long[] {h});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        shapes.put("model.norm.weight", new long[] {h});
        if (!tieWordEmbeddings) {
            shapes.put("lm_head.weight", new long[] {vocabSize, h});
        }
        return shapes;
    }

    /** Total number of parameters (tied embeddings counted once). */
    public long parameterCount() {
        long n = 0;
        for (long[] shape : parameterShapes().values()) {
            long size = 1;
            for (long d : shape) {
                size *= d;
            }
            n += size;
        }
        return n;
    }

    /**
     * Reads an HF {@code config.json}; rejects configs we cannot build, naming the file and every problem. Keys that
     * change the architecture in ways this model does not implement (RoPE scaling, biases, a decoupled head size)
     * are refused rather than ignored: ignoring them would give wrong logits and drop them from saved checkpoints.
     */
    public static LlamaConfig read(Path configJson) {
        LlamaConfig config;
        JsonNode raw;
        try {
            raw = JSON.readTree(configJson.toFile());
            if (raw == null || !raw.isObject()) {
                throw new IllegalArgumentException("invalid Llama config " + configJson + ": not a JSON object");
            }
            config = JSON.treeToValue(raw, LlamaConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read Llama config " + configJson + ": " + e.getMessage(), e);
        }
        List<String> problems = unsupportedKeys(raw, config);
        problems.addAll(config.problems());
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid Llama config " + configJson + ": " + String.join("; ", problems));
        }
        return config;
    }

    /** Architecture keys HF's Llama understands and this model does not implement, when set to a non-default value. */
    private static List<String> unsupportedKeys(JsonNode raw, LlamaConfig config) {
        List<String> problems = new ArrayList<>();
        JsonNode scaling = raw.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            problems.add("rope_scaling " + scaling + " is not implemented (only unscaled RoPE); use a checkpoint without it");
        }
        for (String bias : List.of("attention_bias", "mlp_bias")) {
            if (raw.path(bias).asBoolean(false)) {
                problems.add(bias + " true is not implemented (Llama-2 has no biases)");
            }
        }
        JsonNode headDim = raw.get("head_dim");
        if (headDim != null && !headDim.isNull() && config.numAttentionHeads() > 0
                && headDim.asLong() != config.headDim()) {
            problems.add("head_dim " + headDim + " differs from hidden_size / num_attention_heads = " + config.headDim()
                    + ", which is not implemented");
        }
        return problems;
    }

    /** This config as HF {@code config.json} text. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
