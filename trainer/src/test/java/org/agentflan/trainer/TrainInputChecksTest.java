package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.Manifest;
import org.agentflan.format.SourceCounts;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.data.DataStreamTest;
import org.agentflan.trainer.data.ShardWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code train} checks before it trains: that the data was made with the model's tokenizer. */
class TrainInputChecksTest {
    private static final Path TOKENIZER = Path.of("..", "sample-data", "llama2-tokenizer").toAbsolutePath().normalize();
    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());
    @TempDir Path tmp;

    /** The fixture's manifest names tokenizer "abc123"; the model's tokenizer is the real Llama-2 one. */
    @Test
    void dataFromAnotherTokenizerIsRefusedNamingBothFilesAndHashes() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        String modelSha = Llama2Tokenizer.sha256(TOKENIZER.resolve("tokenizer.json"));
        DataException e = assertThrows(DataException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1", "model.tokenizer_dir=" + TOKENIZER), tmp.resolve("run"),
                null, null, null), QUIET));
        assertEquals(data.resolve("manifest.json") + ": tokenizer_sha256 is abc123 but the model's tokenizer "
                + TOKENIZER.resolve("tokenizer.json") + " has sha256 " + modelSha + ": the shards were tokenized with"
                + " another tokenizer, so their ids mean other text to this model. Re-run prepare with tokenizer="
                + TOKENIZER + ", or set model.tokenizer_dir to the tokenizer the data was made with", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("run/metrics.jsonl")), "nothing trained");
    }

    /**
     * model.hf_dir is the tokenizer folder of an HF model; one without tokenizer.json (here the model/ of a checkpoint
     * of a run without a tokenizer) cannot be checked.
     */
    @Test
    void anHfModelWithoutTokenizerJsonIsRefused() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path hf = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=1"), tmp.resolve("saved"),
                null, null, null), QUIET).lastCheckpoint().resolve("model");
        assertFalse(Files.exists(hf.resolve("tokenizer.json")));
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1", "model.init=hf", "model.hf_dir=" + hf), tmp.resolve("run"),
                null, null, null), QUIET));
        assertTrue(e.getMessage().startsWith("model.hf_dir " + hf + " has no tokenizer.json"), e.getMessage());
    }

    /** The same data stamped with the model tokenizer's hash trains, and so do eval folders made with it. */
    @Test
    void dataFromTheModelsTokenizerTrains() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        String modelSha = Llama2Tokenizer.sha256(TOKENIZER.resolve("tokenizer.json"));
        writeManifest(data, modelSha);
        Path eval = tmp.resolve("eval");
        ShardWriter.writeDataDir(eval, DataStreamTest.samples(6, 20, 4));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // An eval folder from another tokenizer is refused as well.
        assertThrows(DataException.class, () -> Train.run(new Train.Options(null, TrainFixtures.tinyRun(data,
                "max_steps=1", "model.tokenizer_dir=" + TOKENIZER, "data.eval_dirs=[" + eval + "]"), tmp.resolve("run"),
                null, null, null), QUIET));
        writeManifest(eval, modelSha.toUpperCase(java.util.Locale.ROOT)); // hex digits compare case-insensitively
        Train.Result r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=1",
                "model.tokenizer_dir=" + TOKENIZER, "data.eval_dirs=[" + eval + "]"), tmp.resolve("run"), null, null, null),
                new PrintStream(out, true));
        assertEquals(StopReason.COMPLETED, r.stopReason(), out.toString());
        assertTrue(out.toString().contains("tokenizer: " + TOKENIZER.resolve("tokenizer.json") + " (sha256 " + modelSha
                + "), the data's as well"), out.toString());
        assertTrue(Files.isRegularFile(r.lastCheckpoint().resolve("model/tokenizer.json")), "tokenizer copied");
    }

    /** Without a model tokenizer (random init), the data folders must still share one tokenizer. */
    @Test
    void dataFoldersOfTwoTokenizersAreRefusedWithoutAModelTokenizer() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path other = tmp.resolve("other");
        ShardWriter.writeDataDir(other, DataStreamTest.samples(6, 20, 4));
        writeManifest(other, "def456");
        DataException e = assertThrows(DataException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1", "data.dirs=[" + data + ", " + other + "]"), tmp.resolve("run"),
                null, null, null), QUIET));
        assertEquals(other.resolve("manifest.json") + ": tokenizer_sha256 def456 differs from "
                + data.resolve("manifest.json") + "'s abc123; all data must use one tokenizer", e.getMessage());
    }

    /**
     * The tiny architecture has max_position_embeddings 512: data.seq_len 513 is refused before any weight exists, and
     * so is a seq_len beyond an HF model's config.json (here a saved checkpoint's model/ loaded with model.init=hf).
     */
    @Test
    void seqLenBeyondMaxPositionEmbeddingsIsRefusedNamingBoth() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        TrainException tiny = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1", "data.seq_len=513"), tmp.resolve("tiny"), null, null, null), QUIET));
        assertEquals("data.seq_len 513 is beyond the model's max_position_embeddings 512 (model.init tiny): positions"
                + " past it were never trained and RoPE scaling is not implemented; set data.seq_len to at most 512",
                tiny.getMessage());
        assertFalse(Files.exists(tmp.resolve("tiny/metrics.jsonl")), "nothing trained");

        Train.Result saved = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=1", "data.seq_len=512"),
                tmp.resolve("saved"), null, null, null), QUIET);
        Path hf = saved.lastCheckpoint().resolve("model");
        TrainException fromHf = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "max_steps=1", "model.init=hf", "model.hf_dir=" + hf,
                        "model.tokenizer_dir=" + TOKENIZER, "data.seq_len=4096"), tmp.resolve("hf"), null, null, null), QUIET));
        assertTrue(fromHf.getMessage().startsWith("data.seq_len 4096 is beyond the model's max_position_embeddings 512"
                + " (model.hf_dir (" + hf.resolve("config.json") + "))"), fromHf.getMessage());
    }

    /** A manifest as data-prep writes it, naming {@code tokenizerSha}. */
    static void writeManifest(Path dir, String tokenizerSha) throws Exception {
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, ChatTemplate.NAME, tokenizerSha, 0, 4096, false, "drop",
                "2024-01-01T00:00:00Z", 0, Map.of(), SourceCounts.empty(), JsonNodeFactory.instance.objectNode(), false);
        try (OutputStream out = Files.newOutputStream(dir.resolve(Manifest.FILE_NAME))) {
            manifest.write(out);
        }
    }
}
