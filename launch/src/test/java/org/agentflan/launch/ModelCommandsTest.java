package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code score} and {@code generate} end to end: a random tiny Llama saved in HF layout, the real tokenizer. */
class ModelCommandsTest {
    private static final Path TOKENIZER = Path.of("..", "sample-data", "llama2-tokenizer").toAbsolutePath().normalize();
    @TempDir static Path dir;
    static Path modelDir;

    @BeforeAll
    static void saveTinyModel() throws Exception {
        modelDir = dir.resolve("model");
        LlamaConfig config = LlamaConfig.tiny(); // Llama-2's 32,000-token vocabulary, so the real tokenizer fits
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = LlamaModel.create(config, manager, 1)) {
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, modelDir, config, model.parameters(), 4_000_000, DataType.FLOAT16, TOKENIZER);
        }
    }

    @Test
    void scorePrintsOneLossPerLine() throws Exception {
        Path input = dir.resolve("ids.jsonl");
        Files.writeString(input, "{\"input_ids\": [1, 450, 4996, 17354], \"loss_mask\": [0, 0, 1, 1]}\n"
                + "{\"input_ids\": [1, 29871]}\n");
        CliRun run = CliRun.of("score", "--model", modelDir.toString(), "--input", input.toString());
        assertEquals(0, run.code(), run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals(2, lines.length);
        assertTrue(lines[0].matches("\\{\"loss\":[0-9.]+,\"tokens\":2}"), lines[0]);
        // a random model is near-uniform over 32,000 tokens: loss close to ln(32000) = 10.37
        double loss = Double.parseDouble(lines[0].replaceAll(".*\"loss\":([0-9.]+).*", "$1"));
        assertEquals(Math.log(32000), loss, 0.5);
    }

    @Test
    void generateRepliesGreedilyAndReproducibly() {
        String[] args = {"generate", "--model", modelDir.toString(), "--tokenizer", TOKENIZER.toString(),
            "--prompt", "Which tool lists files?", "--system", "You are an agent.", "--max-new-tokens", "6"};
        CliRun first = CliRun.of(args);
        assertEquals(0, first.code(), first.err());
        assertFalse(first.out().isBlank());
        assertEquals(first.out(), CliRun.of(args).out(), "greedy decoding is deterministic");
        CliRun sampled = CliRun.of("generate", "--model", modelDir.toString(), "--tokenizer", TOKENIZER.toString(),
                "--prompt", "hi", "--max-new-tokens", "4", "--temperature", "0.8", "--top-p", "0.9", "--seed", "3");
        assertEquals(0, sampled.code(), sampled.err());
    }

    @Test
    void userErrorsAreOneLineWithExitCode2() {
        CliRun missing = CliRun.of("score", "--model", dir.resolve("nope").toString(), "--input", dir.resolve("x").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().startsWith("error: "), missing.err());
        assertEquals(1, missing.err().strip().split("\n").length, missing.err());

        CliRun badDtype = CliRun.of("generate", "--model", modelDir.toString(), "--tokenizer", TOKENIZER.toString(),
                "--prompt", "hi", "--dtype", "bfloat16");
        assertEquals(2, badDtype.code());
        assertTrue(badDtype.err().contains("bfloat16 needs a GPU"), badDtype.err());
    }

    @Test
    void exportWritesALoadableFolderAndNeverOverwrites() throws Exception {
        Path out = dir.resolve("exported");
        CliRun run = CliRun.of("export", "--checkpoint", modelDir.toString(), "--dtype", "bfloat16", "--out", out.toString());
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("holds float16 weights, not fp32 masters"), run.err());
        assertEquals("bfloat16", LlamaConfig.read(out.resolve("config.json")).torchDtype());
        assertTrue(Files.isRegularFile(out.resolve("tokenizer.json")), "tokenizer files travel with the weights");
        Path input = dir.resolve("export-ids.jsonl");
        Files.writeString(input, "{\"input_ids\": [1, 450, 4996, 17354]}\n");
        CliRun score = CliRun.of("score", "--model", out.toString(), "--input", input.toString());
        assertEquals(0, score.code(), score.err());
        CliRun again = CliRun.of("export", "--checkpoint", modelDir.toString(), "--out", out.toString());
        assertEquals(2, again.code());
        assertTrue(again.err().contains("already exists"), again.err());
    }
}
