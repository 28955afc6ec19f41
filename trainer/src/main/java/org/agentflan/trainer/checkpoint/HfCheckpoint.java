package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.agentflan.trainer.model.FiniteCheck;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;

/**
 * A Llama checkpoint folder in Hugging Face layout: {@code config.json}, weights in {@code model.safetensors} or in
 * shards listed by {@code model.safetensors.index.json}, tokenizer files, {@code generation_config.json}.
 *
 * <p>Reading checks every tensor name and shape against the config before any weight is read, then loads tensor by
 * tensor (see {@link SafetensorsReader}), so the process never holds more than the weights plus a small buffer.
 * Writing produces files that transformers loads as they are; each file appears atomically.
 */
public final class HfCheckpoint {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String CONFIG_FILE = "config.json";
    public static final String GENERATION_CONFIG_FILE = "generation_config.json";
    /** Tokenizer files copied into a written checkpoint when the tokenizer folder has them. */
    public static final List<String> TOKENIZER_FILES =
            List.of("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json");

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int MAX_LISTED_PROBLEMS = 20;

    private HfCheckpoint() {}

    /**
     * Loads the checkpoint into existing parameter arrays (FLOAT32, shapes as in the config), e.g. a freshly built
     * model: the weights are read straight into the parameters' memory, so loading needs no extra memory at all.
     */
    public static void loadInto(Path dir, LlamaConfig config, Map<String, NDArray> parameters) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> e : config.parameterShapes().entrySet()) {
            NDArray p = parameters.get(e.getKey());
            if (p == null) {
                problems.add("no parameter array for '" + e.getKey() + "'");
            } else if (!p.getShape().equals(new Shape(e.getValue()))) {
                problems.add("parameter '" + e.getKey() + "' has shape " + p.getShape() + " but the config expects "
                        + new Shape(e.getValue()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("parameters do not match the config: " + summarize(problems));
        }
        try (Layout layout = Layout.open(dir)) {
            for (Map.Entry<String, SafetensorsReader> e : layout.checkAgainst(config).entrySet()) {
                NDArray parameter = parameters.get(e.getKey());
                e.getValue().readInto(e.getKey(), parameter);
                // A diverged (or damaged) checkpoint would train, score and sample NaN: refuse it, naming the tensor.
                if (!FiniteCheck.isFinite(parameter)) {
                    throw CheckpointFormatException.of(e.getValue().file(), e.getKey(),
                            "holds NaN or Inf values (the weights of a diverged run, or a damaged file)");
                }
            }
        }
    }

    /**
     * Checks a model folder without reading its weights: {@code config.json} is a buildable Llama config, the index
     * (if any) is valid, and every safetensors header is valid, covers its file exactly and holds the config's tensor
     * names and shapes. A truncated, garbled or missing file fails here, naming itself; damage inside a tensor's bytes
     * shows only when the weights are loaded (NaN or Inf is refused then).
     */
    public static LlamaConfig verify(Path dir) throws IOException {
        Path configFile = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw CheckpointFormatException.of(configFile, "missing");
        }
        LlamaConfig config = readConfig(configFile);
        try (Layout layout = Layout.open(dir)) {
            layout.checkAgainst(config);
        }
        return config;
    }

    /** {@link LlamaConfig#read}, its problems (a parser's included) as one line naming the file. */
    private static LlamaConfig readConfig(Path configFile) throws CheckpointFormatException {
        try {
            return LlamaConfig.read(configFile);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(e.getMessage().replaceAll("\\s*\\R\\s*", " "));
        }
    }

    /**
     * Loads a model folder in HF layout ({@code config.json} plus single or sharded safetensors in F32, F16 or BF16)
     * as a model with fp32 weights on {@code parent}'s device. The weights are allocated once and each tensor is read
     * straight into its parameter (see {@link #loadInto}).
     */
    public static LlamaModel loadModel(Path dir, NDManager parent) throws IOException {
        Path configFile = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new NoSuchFileException(configFile.toString(), null, "no config.json: not an HF model directory");
        }
        LlamaConfig config = readConfig(configFile);
        LlamaModel model = LlamaModel.allocate(config, parent);
        try {
            loadInto(dir, config, model.parameters());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        return model;
    }

    /** The open weight files of a checkpoint folder and which file holds each tensor. */
    private static final class Layout implements AutoCloseable {
        private final Path dir;
        private final Map<Path, SafetensorsReader> readers = new LinkedHashMap<>();
        private final Map<String, SafetensorsReader> byName = new LinkedHashMap<>();

        private Layout(Path dir) {
            this.dir = dir;
        }

        static Layout open(Path dir) throws IOException {
            Layout layout = new Layout(dir);
            try {
                layout.load();
                return layout;
            } catch (IOException | RuntimeException e) {
                layout.close();
                throw e;
            }
        }

        private void load() throws IOException {
            Path index = dir.resolve(INDEX_FILE);
            Path single = dir.resolve(SINGLE_FILE);
            if (Files.isRegularFile(index)) {
                loadSharded(index);
            } else if (Files.isRegularFile(single)) {
                SafetensorsReader reader = SafetensorsReader.open(single);
                readers.put(single, reader);
                for (String name : reader.tensors().keySet()) {
                    byName.put(name, reader);
                }
            } else {
                String hint = Files.isRegularFile(dir.resolve("pytorch_model.bin"))
                        || Files.isRegularFile(dir.resolve("pytorch_model.bin.index.json"))
                        ? " (it has PyTorch .bin weights only: convert them to safetensors first)"
                        : " (expected a Hugging Face checkpoint folder)";
                throw new CheckpointFormatException("no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + dir + hint);
            }
        }

        private void loadSharded(Path index) throws IOException {
            JsonNode root;
            try {
                root = JSON.readTree(Files.readAllBytes(index));
            } catch (JsonProcessingException e) {
                throw CheckpointFormatException.of(index, "not valid JSON: "
                        + e.getOriginalMessage().replaceAll("\\[Source: [^;]*; ", "["));
            }
            JsonNode weightMap = root == null ? null : root.get("weight_map");
            if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
                throw CheckpointFormatException.of(index, "missing or empty field 'weight_map'");
            }
            Map<String, String> fileOf = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String file = e.getValue().asText();
                if (!e.getValue().isTextual() || file.contains("/") || file.contains("\\") || file.equals("..")) {
                    throw CheckpointFormatException.of(index, "weight_map." + e.getKey() + " is not a file name in this folder");
                }
                fileOf.put(e.getKey(), file);
            }
            for (String file : new LinkedHashSet<>(fileOf.values())) {
                Path shard = dir.resolve(file);
                if (!Files.isRegularFile(shard)) {
                    throw CheckpointFormatException.of(index, "names shard " + file + " which does not exist in " + dir);
                }
                readers.put(shard, SafetensorsReader.open(shard));
            }
            for (Map.Entry<String, String> e : fileOf.entrySet()) {
                SafetensorsReader reader = readers.get(dir.resolve(e.getValue()));
                if (!reader.tensors().containsKey(e.getKey())) {
                    throw CheckpointFormatException.of(index, "weight_map puts tensor '" + e.getKey() + "' in "
                            + e.getValue() + ", which does not contain it");
                }
                byName.put(e.getKey(), reader);
            }
            for (SafetensorsReader reader : readers.values()) {
                for (String name : reader.tensors().keySet()) {
                    if (byName.get(name) != reader) {
                        throw CheckpointFormatException.of(reader.file(), name,
                                "is in this shard but the index " + INDEX_FILE + " does not map it here");
                    }
                }
            }
        }

        /** Checks names and shapes against the config; returns the reader of every parameter, in config order. */
        Map<String, SafetensorsReader> checkAgainst(LlamaConfig config) throws CheckpointFormatException {
            Map<String, long[]> expected = config.parameterShapes();
            List<String> problems = new ArrayList<>();
            Map<String, SafetensorsReader> sources = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                String name = e.getKey();
                SafetensorsReader reader = byName.get(name);
                Shape want = new Shape(e.getValue());
                if (reader == null) {
                    problems.add("missing tensor '" + name + "' (config expects shape " + want + ")");
                    continue;
                }
                Shape got = reader.tensors().get(name).shape();
                if (!got.equals(want)) {
                    problems.add("tensor '" + name + "' has shape " + got + " in " + reader.file().getFileName()
                            + " but the config expects " + want);
                    continue;
                }
                sources.put(name, reader);
            }
            for (Map.Entry<String, SafetensorsReader> e : byName.entrySet()) {
                String name = e.getKey();
                if (expected.containsKey(name) || isIgnorable(name, config)) {
                    continue;
                }
                problems.add("unexpected tensor '" + name + "' " + e.getValue().tensors().get(name).shape() + " in "
                        + e.getValue().file().getFileName() + " (not a parameter of this config)");
            }
            if (!problems.isEmpty()) {
                throw new CheckpointFormatException("checkpoint " + dir + " does not match its config ("
                        + config.numHiddenLayers() + " layers, hidden " + config.hiddenSize() + ", vocab "
                        + config.vocabSize() + "): " + summarize(problems));
            }
            return sources;
        }

        /** Buffers some exporters store although they are not parameters: recomputed or tied, never loaded. */
        private boolean isIgnorable(String name, LlamaConfig config) {
            if (name.endsWith(".self_attn.rotary_emb.inv_freq")) {
                return true;
            }
            return config.tieWordEmbeddings() && name.equals("lm_head.weight")
                    && byName.get(name).tensors().get(name).shape().equals(new Shape(config.vocabSize(), config.hiddenSize()));
        }

        @Override
        public void close() throws IOException {
            IOException first = null;
            for (SafetensorsReader r : readers.values()) {
                try {
                    r.close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }

    private static String summarize(List<String> problems) {
        List<String> shown = problems.subList(0, Math.min(problems.size(), MAX_LISTED_PROBLEMS));
        String text = String.join("; ", shown);
        return problems.size() > shown.size() ? text + "; and " + (problems.size() - shown.size()) + " more" : text;
    }

    /**
     * Writes a checkpoint folder that Hugging Face transformers loads as it is: weights as {@code saveType} (FLOAT32,
     * FLOAT16 or BFLOAT16) in shards of at most {@code maxShardBytes} (one {@code model.safetensors} when everything
     * fits), the index, {@code config.json}, {@code generation_config.json}, and the tokenizer files found in
     * {@code tokenizerDirOrNull}, each file through {@code files}. Stale weight files of an earlier save into the same
     * folder are removed.
     */
    public static void write(AtomicFileWriter files, Path dir, LlamaConfig config, Map<String, NDArray> weights,
                             long maxShardBytes, DataType saveType, Path tokenizerDirOrNull) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be > 0, got " + maxShardBytes);
        }
        List<SafetensorsWriter.Entry> entries = entriesInConfigOrder(config, weights, saveType);
        List<List<SafetensorsWriter.Entry>> shards = new ArrayList<>();
        List<SafetensorsWriter.Entry> current = new ArrayList<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (SafetensorsWriter.Entry e : entries) {
            // Same rule as HF: start a new shard when this tensor would overflow a non-empty one.
            if (!current.isEmpty() && currentBytes + e.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += e.byteSize();
            totalBytes += e.byteSize();
        }
        shards.add(current);

        Files.createDirectories(dir);
        List<Path> weightFiles = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        for (int i = 0; i < shards.size(); i++) {
            String fileName = shards.size() == 1
                    ? SINGLE_FILE
                    : String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            Path file = dir.resolve(fileName);
            SafetensorsWriter.write(files, file, shards.get(i), SafetensorsWriter.PT_METADATA);
            weightFiles.add(file);
            for (SafetensorsWriter.Entry e : shards.get(i)) {
                weightMap.put(e.name(), fileName);
            }
        }
        if (shards.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", totalBytes);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            files.writeBytes(dir.resolve(INDEX_FILE), (JSON.writeValueAsString(index) + "\n").getBytes(StandardCharsets.UTF_8));
        }
        removeStaleWeights(dir, weightFiles, shards.size() > 1);

        String dtypeName = saveType == DataType.BFLOAT16 ? "bfloat16" : saveType == DataType.FLOAT16 ? "float16" : "float32";
        files.writeBytes(dir.resolve(CONFIG_FILE),
                (config.withTorchDtype(dtypeName).toJson() + "\n").getBytes(StandardCharsets.UTF_8));
        writeGenerationConfig(files, dir, config, tokenizerDirOrNull);
        if (tokenizerDirOrNull != null) {
            if (!Files.isDirectory(tokenizerDirOrNull)) {
                throw new IOException("tokenizer folder " + tokenizerDirOrNull + " does not exist");
            }
            for (String name : TOKENIZER_FILES) {
                Path source = tokenizerDirOrNull.resolve(name);
                if (Files.isRegularFile(source)) {
                    files.copy(source, dir.resolve(name));
                }
            }
        }
    }

    private static List<SafetensorsWriter.Entry> entriesInConfigOrder(
            LlamaConfig config, Map<String, NDArray> weights, DataType saveType) {
        Map<String, long[]> expected = config.parameterShapes();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            NDArray array = weights.get(e.getKey());
            if (array == null) {
                problems.add("missing tensor '" + e.getKey() + "'");
            } else if (!array.getShape().equals(new Shape(e.getValue()))) {
                problems.add("tensor '" + e.getKey() + "' has shape " + array.getShape() + " but the config expects "
                        + Arrays.toString(e.getValue()));
            }
        }
        for (String name : weights.keySet()) {
            if (!expected.containsKey(name)) {
                problems.add("unexpected tensor '" + name + "' (not a parameter of this config)");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("weights do not match the config: " + summarize(problems));
        }
        Map<String, NDArray> ordered = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            ordered.put(name, weights.get(name));
        }
        return SafetensorsWriter.entries(ordered, saveType);
    }

    private static void removeStaleWeights(Path dir, List<Path> written, boolean sharded) throws IOException {
        Set<Path> keep = new LinkedHashSet<>(written);
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "model*.safetensors")) {
            for (Path p : stream) {
                if (!keep.contains(p)) {
                    Files.delete(p);
                }
            }
        }
        if (!sharded) {
            Files.deleteIfExists(dir.resolve(INDEX_FILE));
        }
    }

    /** Keeps the source model's sampling defaults when it has them; otherwise records the special token ids. */
    private static void writeGenerationConfig(AtomicFileWriter files, Path dir, LlamaConfig config, Path tokenizerDirOrNull)
            throws IOException {
        if (tokenizerDirOrNull != null && Files.isRegularFile(tokenizerDirOrNull.resolve(GENERATION_CONFIG_FILE))) {
            files.copy(tokenizerDirOrNull.resolve(GENERATION_CONFIG_FILE), dir.resolve(GENERATION_CONFIG_FILE));
            return;
        }
        ObjectNode generation = JSON.createObjectNode();
        generation.put("_from_model_config", true);
        generation.put("bos_token_id", config.bosTokenId());
        generation.put("eos_token_id", config.eosTokenId());
        files.writeBytes(dir.resolve(GENERATION_CONFIG_FILE),
                (JSON.writeValueAsString(generation) + "\n").getBytes(StandardCharsets.UTF_8));
    }
}
