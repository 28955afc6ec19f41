package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.agentflan.trainer.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HfCheckpointTest {
    @TempDir
    Path tmp;

    private static Path tiny(String variant) {
        return Fixtures.dir().resolve("tiny-llama").resolve(variant);
    }

    private static void assertMatchesGolden(String variant, Map<String, NDArray> weights, LlamaConfig config) throws Exception {
        JsonNode expected = Fixtures.json("tiny-llama.expected.json").get(variant);
        assertEquals(new ArrayList<>(config.parameterShapes().keySet()), new ArrayList<>(weights.keySet()), "config key order");
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            NDArray array = weights.get(e.getKey());
            assertEquals(DataType.FLOAT32, array.getDataType());
            Fixtures.assertBits(Fixtures.ints(e.getValue()), array, variant + " " + e.getKey());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"f32-sharded", "f16", "bf16"})
    void readsTinyLlamaExactlyAsTorchStoredIt(String variant) throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny(variant).resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readWeights(tiny(variant), config, manager);
            assertMatchesGolden(variant, weights, config);
        }
    }

    @Test
    void loadsIntoExistingParameters() throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny("bf16").resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> parameters = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : config.parameterShapes().entrySet()) {
                parameters.put(e.getKey(), manager.zeros(new ai.djl.ndarray.types.Shape(e.getValue())));
            }
            Map<String, NDArray> same = new LinkedHashMap<>(parameters);
            HfCheckpoint.loadInto(tiny("bf16"), config, parameters);
            assertMatchesGolden("bf16", parameters, config);
            for (String name : parameters.keySet()) {
                assertTrue(same.get(name) == parameters.get(name), "loaded in place: " + name);
                // the engine sees the new values, not a stale copy
                assertEquals(parameters.get(name).sum().getFloat(), sumOf(Fixtures.bits(parameters.get(name))), 1e-3f, name);
            }
            parameters.put("model.norm.weight", manager.zeros(new ai.djl.ndarray.types.Shape(3)));
            String message = assertThrows(IllegalArgumentException.class,
                    () -> HfCheckpoint.loadInto(tiny("bf16"), config, parameters)).getMessage();
            assertTrue(message.contains("parameter 'model.norm.weight' has shape (3) but the config expects (8)"), message);
        }
    }

    private static float sumOf(int[] bits) {
        double sum = 0;
        for (int b : bits) {
            sum += Float.intBitsToFloat(b);
        }
        return (float) sum;
    }

    @Test
    void shardedRoundTripWithTokenizerIsBitExactAndLoadableByPython() throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny("f32-sharded").resolve("config.json"));
        Path out = tmp.resolve("model");
        Path tokenizer = Fixtures.repoRoot().resolve("sample-data/llama2-tokenizer");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readWeights(tiny("f32-sharded"), config, manager);
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, out, config, weights, 1500, DataType.FLOAT32, tokenizer);
            List<Path> shards = Fixtures.safetensorsFiles(out);
            assertTrue(shards.size() > 2, "split into several shards: " + shards);
            for (int i = 0; i < shards.size(); i++) {
                assertEquals(String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size()),
                        shards.get(i).getFileName().toString());
            }
            JsonNode index = Fixtures.JSON.readTree(out.resolve(HfCheckpoint.INDEX_FILE).toFile());
            assertEquals(config.parameterCount() * 4, index.get("metadata").get("total_size").asLong());
            assertEquals(config.parameterShapes().size(), index.get("weight_map").size());
            assertEquals(config.withTorchDtype("float32"), LlamaConfig.read(out.resolve("config.json")));
            JsonNode generation = Fixtures.JSON.readTree(out.resolve("generation_config.json").toFile());
            assertEquals(2, generation.get("eos_token_id").asInt());
            for (String name : HfCheckpoint.TOKENIZER_FILES) {
                Path source = tokenizer.resolve(name);
                if (Files.exists(source)) {
                    assertEquals(Files.mismatch(source, out.resolve(name)), -1L, name + " copied");
                }
            }
            assertTrue(Files.exists(out.resolve("tokenizer.json")));
            try (Stream<Path> files = Files.list(out)) {
                assertFalse(files.anyMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary files");
            }
            Map<String, NDArray> back = Fixtures.readWeights(out, config, manager);
            assertMatchesGolden("f32-sharded", back, config);
            if (pythonAvailable()) {
                for (Path shard : shards) {
                    Fixtures.Result r = Fixtures.runChecker(shard, null);
                    assertEquals(0, r.exitCode(), r.stderr());
                }
            }

            // Saving again unsharded into the same folder replaces shards and index by one model.safetensors.
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, out, config, weights, Fixtures.HF_SHARD_BYTES, DataType.FLOAT32, null);
            assertEquals(List.of(out.resolve("model.safetensors")), Fixtures.safetensorsFiles(out));
            assertFalse(Files.exists(out.resolve(HfCheckpoint.INDEX_FILE)));
            for (Path shard : shards) {
                assertFalse(Files.exists(shard), "stale shard removed: " + shard);
            }
            assertMatchesGolden("f32-sharded", Fixtures.readWeights(out, config, manager), config);
        }
    }

    private static boolean pythonAvailable() {
        try {
            Fixtures.assumePythonTorch();
            return true;
        } catch (org.opentest4j.TestAbortedException e) {
            return false;
        }
    }

    /** Java's narrowing on save must equal torch's: the F16/BF16 fixtures are torch's rounding of the F32 weights. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"f16", "bf16"})
    void narrowingOnSaveMatchesTorch(String variant) throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny("f32-sharded").resolve("config.json"));
        DataType saveType = variant.equals("f16") ? DataType.FLOAT16 : DataType.BFLOAT16;
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readWeights(tiny("f32-sharded"), config, manager);
            Path out = tmp.resolve(variant);
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, out, config, weights, Fixtures.HF_SHARD_BYTES, saveType, null);
            assertEquals(variant.equals("f16") ? "float16" : "bfloat16", LlamaConfig.read(out.resolve("config.json")).torchDtype());
            assertMatchesGolden(variant, Fixtures.readWeights(out, config, manager), config);
        }
    }

    @Test
    void wrongShapeNamesTensorAndBothShapes() throws Exception {
        LlamaConfig stored = LlamaConfig.read(tiny("f32-sharded").resolve("config.json"));
        LlamaConfig wider = new LlamaConfig(stored.vocabSize(), stored.hiddenSize(), 16, stored.numHiddenLayers(),
                stored.numAttentionHeads(), stored.numKeyValueHeads(), stored.rmsNormEps(), stored.ropeTheta(),
                stored.maxPositionEmbeddings(), false, 1, 2, "float32", null, null, null);
        try (NDManager manager = NDManager.newBaseManager()) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> Fixtures.readWeights(tiny("f32-sharded"), wider, manager));
            assertTrue(e.getMessage().contains("tensor 'model.layers.0.mlp.gate_proj.weight' has shape (12, 8) in "
                    + "model-00001-of-00003.safetensors but the config expects (16, 8)"), e.getMessage());
            assertEquals(0, manager.getManagedArrays().size(), "nothing loaded before validation");
        }
    }

    @Test
    void missingAndUnexpectedTensorsAreNamed() throws Exception {
        LlamaConfig stored = LlamaConfig.read(tiny("bf16").resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaConfig deeper = layers(stored, 3);
            String missing = assertThrows(CheckpointFormatException.class,
                    () -> Fixtures.readWeights(tiny("bf16"), deeper, manager)).getMessage();
            assertTrue(missing.contains("missing tensor 'model.layers.2.self_attn.q_proj.weight' (config expects shape (8, 8))"), missing);

            LlamaConfig shallower = layers(stored, 1);
            String unexpected = assertThrows(CheckpointFormatException.class,
                    () -> Fixtures.readWeights(tiny("bf16"), shallower, manager)).getMessage();
            assertTrue(unexpected.contains("unexpected tensor 'model.layers.1.mlp.down_proj.weight' (8, 12) in model.safetensors"), unexpected);
        }
    }

    @Test
    void tiedConfigIgnoresStoredLmHead() throws Exception {
        LlamaConfig stored = LlamaConfig.read(tiny("f16").resolve("config.json"));
        LlamaConfig tied = new LlamaConfig(stored.vocabSize(), stored.hiddenSize(), stored.intermediateSize(),
                stored.numHiddenLayers(), stored.numAttentionHeads(), stored.numKeyValueHeads(), stored.rmsNormEps(),
                stored.ropeTheta(), stored.maxPositionEmbeddings(), true, 1, 2, "float16", null, null, null);
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Fixtures.readWeights(tiny("f16"), tied, manager);
            assertFalse(weights.containsKey("lm_head.weight"));
            assertEquals(tied.parameterShapes().keySet(), weights.keySet());
            // and a tied save has no lm_head at all
            Path out = tmp.resolve("tied");
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, out, tied, weights, Fixtures.HF_SHARD_BYTES, DataType.FLOAT32, null);
            try (SafetensorsReader reader = SafetensorsReader.open(out.resolve("model.safetensors"))) {
                assertFalse(reader.tensors().containsKey("lm_head.weight"));
            }
        }
    }

    @Test
    void badFoldersAndIndexesFailClearly() throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny("f32-sharded").resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Path empty = Files.createDirectories(tmp.resolve("empty"));
            String none = assertThrows(CheckpointFormatException.class, () -> Fixtures.readWeights(empty, config, manager)).getMessage();
            assertTrue(none.contains("no model.safetensors or model.safetensors.index.json in " + empty), none);

            Path broken = Files.createDirectories(tmp.resolve("broken"));
            for (Path p : Fixtures.safetensorsFiles(tiny("f32-sharded"))) {
                Files.copy(p, broken.resolve(p.getFileName()));
            }
            String index = Files.readString(tiny("f32-sharded").resolve(HfCheckpoint.INDEX_FILE));
            Files.writeString(broken.resolve(HfCheckpoint.INDEX_FILE),
                    index.replace("\"model.norm.weight\": \"model-00003-of-00003", "\"model.norm.weight\": \"model-00001-of-00003"));
            String moved = assertThrows(CheckpointFormatException.class, () -> Fixtures.readWeights(broken, config, manager)).getMessage();
            assertTrue(moved.contains("weight_map puts tensor 'model.norm.weight' in model-00001-of-00003.safetensors, which does not contain it"), moved);

            Files.delete(broken.resolve("model-00002-of-00003.safetensors"));
            Files.writeString(broken.resolve(HfCheckpoint.INDEX_FILE), index);
            String gone = assertThrows(CheckpointFormatException.class, () -> Fixtures.readWeights(broken, config, manager)).getMessage();
            assertTrue(gone.contains("names shard model-00002-of-00003.safetensors which does not exist"), gone);
        }
    }

    @Test
    void writeRejectsWeightsThatDoNotMatchTheConfig() throws Exception {
        LlamaConfig config = LlamaConfig.read(tiny("f16").resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = new LinkedHashMap<>(Fixtures.readWeights(tiny("f16"), config, manager));
            weights.remove("model.norm.weight");
            weights.put("extra.bias", manager.ones(new ai.djl.ndarray.types.Shape(3)));
            String message = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, tmp.resolve("x"), config,
                    weights, Fixtures.HF_SHARD_BYTES, DataType.FLOAT32, null)).getMessage();
            assertTrue(message.contains("missing tensor 'model.norm.weight'") && message.contains("unexpected tensor 'extra.bias'"), message);
        }
    }

    static LlamaConfig layers(LlamaConfig c, int layers) {
        return new LlamaConfig(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), layers, c.numAttentionHeads(),
                c.numKeyValueHeads(), c.rmsNormEps(), c.ropeTheta(), c.maxPositionEmbeddings(), c.tieWordEmbeddings(),
                c.bosTokenId(), c.eosTokenId(), c.torchDtype(), c.architectures(), c.modelType(), c.hiddenAct());
    }
}
