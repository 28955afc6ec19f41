package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code score} and {@code generate} on model folders that are broken the way real ones break: weights of a diverged
 * run (a NaN), a weight file cut short, bytes overwritten in a header, garbage in the index or in config.json. Each is
 * one {@code error:} line naming the file (and the tensor where there is one), with a non-zero exit.
 */
class DamagedModelCommandsTest {
    private static final Path TOKENIZER = Path.of("..", "sample-data", "llama2-tokenizer").toAbsolutePath().normalize();
    @TempDir static Path dir;
    static Path good;
    static Path diverged;

    /** A random tiny Llama in 4 MB shards (so it has an index), and the same with one NaN in model.norm.weight. */
    @BeforeAll
    static void saveModels() throws Exception {
        good = dir.resolve("good");
        diverged = dir.resolve("diverged");
        LlamaConfig config = LlamaConfig.tiny();
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = LlamaModel.create(config, manager, 1)) {
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, good, config, model.parameters(), 4_000_000, DataType.FLOAT32, TOKENIZER);
            model.parameters().get("model.norm.weight").set(new NDIndex(5), Float.NaN);
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, diverged, config, model.parameters(), 4_000_000, DataType.FLOAT32,
                    TOKENIZER);
        }
        Files.writeString(dir.resolve("ids.jsonl"), "{\"input_ids\": [1, 450, 4996, 17354]}\n");
    }

    @Test
    void theUndamagedModelScores() {
        CliRun run = score(good);
        assertEquals(0, run.code(), run.err());
    }

    @Test
    void nonFiniteWeightsAreNamedByScoreAndGenerate() throws Exception {
        Path shard = shardHolding(diverged, "model.norm.weight");
        String expected = diverged + ": " + shard + ": tensor 'model.norm.weight': holds NaN or Inf values (the weights"
                + " of a diverged run, or a damaged file)";
        assertOneLineError(score(diverged), "cannot score with model " + expected);
        assertOneLineError(generate(diverged), "cannot generate with model " + expected);
    }

    @Test
    void aTruncatedWeightFileIsNamed() throws Exception {
        Path model = copy(good, "truncated");
        Path shard = shard(model, 1); // the embedding, 8 MB
        Files.write(shard, Arrays.copyOf(Files.readAllBytes(shard), 3_000_000));
        assertOneLineError(score(model), "cannot score with model " + model + ": " + shard + ": tensor '");
    }

    @Test
    void overwrittenHeaderBytesAreNamed() throws Exception {
        Path model = copy(good, "flipped");
        Path shard = shard(model, 2);
        byte[] bytes = Files.readAllBytes(shard);
        for (int i = 0; i < 8; i++) {
            bytes[i] = (byte) 0xff; // the header length
        }
        Files.write(shard, bytes);
        assertOneLineError(generate(model), "cannot generate with model " + model + ": " + shard + ": header length ");
    }

    @Test
    void garbageInTheIndexOrConfigIsNamed() throws Exception {
        Path model = copy(good, "index");
        Path index = model.resolve(HfCheckpoint.INDEX_FILE);
        Files.writeString(index, "{\"weight_map\": {\"model.norm.weight\": ");
        assertOneLineError(score(model), "cannot score with model " + model + ": " + index + ": not valid JSON: ");

        Path configModel = copy(good, "config");
        Files.write(configModel.resolve("config.json"), new byte[] {0x00, (byte) 0xfe, '{'});
        assertOneLineError(score(configModel), "cannot score with model " + configModel + ": cannot read Llama config "
                + configModel.resolve("config.json") + ": ");
    }

    private static CliRun score(Path model) {
        return CliRun.of("score", "--model", model.toString(), "--input", dir.resolve("ids.jsonl").toString());
    }

    private static CliRun generate(Path model) {
        return CliRun.of("generate", "--model", model.toString(), "--tokenizer", TOKENIZER.toString(), "--prompt", "hi",
                "--max-new-tokens", "2");
    }

    private static void assertOneLineError(CliRun run, String prefix) {
        assertEquals(2, run.code(), run.err());
        assertTrue(run.err().startsWith("error: " + prefix), "expected 'error: " + prefix + "...', got: " + run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }

    private static Path shardHolding(Path model, String tensor) throws Exception {
        String index = Files.readString(model.resolve(HfCheckpoint.INDEX_FILE));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + java.util.regex.Pattern.quote(tensor)
                + "\"\\s*:\\s*\"([^\"]+)\"").matcher(index);
        assertTrue(m.find(), index);
        return model.resolve(m.group(1));
    }

    private static Path shard(Path model, int number) throws Exception {
        try (Stream<Path> files = Files.list(model)) {
            return files.filter(p -> p.getFileName().toString().startsWith(String.format("model-%05d-of-", number)))
                    .findFirst().orElseThrow();
        }
    }

    private static Path copy(Path model, String name) throws Exception {
        Path target = Files.createDirectories(dir.resolve(name));
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, target.resolve(f.getFileName()));
            }
        }
        return target;
    }
}
