package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaConfigTest {

    /** The config.json published with meta-llama/Llama-2-7b-chat-hf, keys and values as released. */
    private static final String LLAMA2_7B_CHAT_CONFIG = """
            {
              "_name_or_path": "meta-llama/Llama-2-7b-chat-hf",
              "architectures": ["LlamaForCausalLM"],
              "bos_token_id": 1,
              "eos_token_id": 2,
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 11008,
              "max_position_embeddings": 4096,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 32,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": null,
              "tie_word_embeddings": false,
              "torch_dtype": "float16",
              "transformers_version": "4.32.0.dev0",
              "use_cache": true,
              "vocab_size": 32000
            }
            """;

    @Test
    void readsTheReleasedLlama2ConfigAndEqualsTheNamedSize(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, LLAMA2_7B_CHAT_CONFIG);
        LlamaConfig config = LlamaConfig.read(file);
        assertEquals(LlamaConfig.llama2_7b(), config);
        assertEquals(6_738_415_616L, config.parameterCount()); // the published 6.74B
    }

    @Test
    void missingKvHeadsAndThetaTakeHfDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, """
                {"vocab_size": 100, "hidden_size": 16, "intermediate_size": 40, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "rms_norm_eps": 1e-6, "max_position_embeddings": 64}""");
        LlamaConfig config = LlamaConfig.read(file);
        assertEquals(4, config.numKeyValueHeads());
        assertEquals(10000.0, config.ropeTheta());
        assertEquals("llama", config.modelType());
    }

    @Test
    void writeThenReadRoundTripsEveryNamedSize(@TempDir Path dir) throws Exception {
        for (LlamaConfig config : List.of(LlamaConfig.llama2_7b(), LlamaConfig.llama2_13b(), LlamaConfig.llama2_70b(),
                LlamaConfig.tiny())) {
            Path file = dir.resolve("config.json");
            Files.writeString(file, config.toJson());
            assertEquals(config, LlamaConfig.read(file));
        }
    }

    @Test
    void writtenJsonUsesHfKeyNames() {
        String json = LlamaConfig.tiny().toJson();
        for (String key : List.of("\"vocab_size\"", "\"num_key_value_heads\"", "\"rope_theta\"", "\"tie_word_embeddings\"",
                "\"architectures\"", "\"model_type\"", "\"torch_dtype\"")) {
            assertTrue(json.contains(key), key + " missing from " + json);
        }
        assertFalse(json.contains("vocabSize"));
        assertFalse(json.contains("problems"));
    }

    @Test
    void parameterShapesFollowHfKeysAndGqa() {
        Map<String, long[]> shapes = LlamaConfig.llama2_70b().parameterShapes();
        assertEquals("model.embed_tokens.weight", shapes.keySet().iterator().next());
        assertArrayEquals(new long[] {1024, 8192}, shapes.get("model.layers.0.self_attn.k_proj.weight"));
        assertArrayEquals(new long[] {8192, 28672}, shapes.get("model.layers.79.mlp.down_proj.weight"));
        assertArrayEquals(new long[] {32000, 8192}, shapes.get("lm_head.weight"));
        assertEquals(2 + 80 * 9 + 1, shapes.size());
        LlamaConfig tied = new LlamaConfig(10, 8, 16, 1, 2, 1, 1e-5, 10000.0, 32, true, 1, 2, null, null, null, null);
        assertFalse(tied.parameterShapes().containsKey("lm_head.weight"));
    }

    @Test
    void rejectsAnUnbuildableConfigNamingEveryProblem(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.json");
        Files.writeString(file, """
                {"vocab_size": 100, "hidden_size": 30, "intermediate_size": 40, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "num_key_value_heads": 3, "rms_norm_eps": 0, "max_position_embeddings": 64}""");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("hidden_size 30 is not a multiple of num_attention_heads 4"), e.getMessage());
        assertTrue(e.getMessage().contains("num_key_value_heads 3"), e.getMessage());
        assertTrue(e.getMessage().contains("rms_norm_eps"), e.getMessage());
    }

    /** Each architecture key we do not implement is refused by name, all of them in one message. */
    @Test
    void refusesArchitectureKeysItDoesNotImplement(@TempDir Path dir) throws Exception {
        String config = LLAMA2_7B_CHAT_CONFIG
                .replace("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}")
                .replace("\"use_cache\": true", "\"use_cache\": true, \"attention_bias\": true, \"mlp_bias\": true, \"head_dim\": 64")
                .replace("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"")
                .replace("\"model_type\": \"llama\"", "\"model_type\": \"mistral\"");
        Path file = dir.resolve("config.json");
        Files.writeString(file, config);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LlamaConfig.read(file));
        for (String key : List.of("rope_scaling", "attention_bias", "mlp_bias", "head_dim 64", "hidden_act", "model_type")) {
            assertTrue(e.getMessage().contains(key), key + " missing from: " + e.getMessage());
        }
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    /** Defaults written out explicitly (as recent transformers versions do) are accepted. */
    @Test
    void acceptsExplicitDefaultsOfThoseKeys(@TempDir Path dir) throws Exception {
        String config = LLAMA2_7B_CHAT_CONFIG.replace("\"use_cache\": true",
                "\"use_cache\": true, \"attention_bias\": false, \"mlp_bias\": false, \"head_dim\": 128");
        Path file = dir.resolve("config.json");
        Files.writeString(file, config);
        assertEquals(LlamaConfig.llama2_7b(), LlamaConfig.read(file));
    }
}
