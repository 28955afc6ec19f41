package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export} from a checkpoint saved with {@code save_dtype: bfloat16}: the exported values must come from the fp32
 * masters in {@code master/}, rounded to nearest even -- checked by torch ({@code check_safetensors.py --rounded-from}
 * the master file, read by the reference's own safetensors reader), not by the code under test.
 */
class ExportTest {
    @TempDir Path tmp;

    /** A checkpoint folder as training writes it with save_dtype bfloat16: model/ in bf16, master/ in fp32. */
    private Path checkpoint(NDManager manager) throws Exception {
        Path source = Fixtures.dir().resolve("tiny-llama").resolve("f32-sharded");
        LlamaConfig config = LlamaConfig.read(source.resolve("config.json"));
        Map<String, NDArray> weights = Fixtures.readWeights(source, config, manager);
        Path dir = tmp.resolve("step_00000007");
        MasterWeights.write(AtomicFileWriter.UNOBSERVED, dir, config, weights, Fixtures.HF_SHARD_BYTES, DataType.BFLOAT16,
                null);
        Files.writeString(dir.resolve(CheckpointManager.MARKER), "step 7\n", StandardCharsets.UTF_8);
        return dir;
    }

    @Test
    void exportRoundsTheFp32MastersToNearestEven() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path checkpoint = checkpoint(manager);
            Path out = tmp.resolve("serve").resolve("bf16");
            Export.Result r = Export.run(checkpoint, DataType.BFLOAT16, out, 600); // small shards: index and shards
            assertEquals(checkpoint.resolve("master"), r.weights());
            assertEquals("float32", r.weightsDtype());
            assertEquals("bfloat16", LlamaConfig.read(out.resolve("config.json")).torchDtype());
            assertTrue(Files.isRegularFile(out.resolve(HfCheckpoint.INDEX_FILE)));
            assertTrue(Files.isRegularFile(out.resolve(HfCheckpoint.GENERATION_CONFIG_FILE)));
            try (Stream<Path> files = Files.list(out.getParent())) {
                assertEquals(List.of(out), files.toList(), "no temporary folder is left beside the export");
            }
            HfCheckpoint.loadModel(out, manager).close(); // loads as it is, names and shapes checked
            List<Path> shards;
            try (Stream<Path> files = Files.list(out)) {
                shards = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            assertTrue(shards.size() > 1, "expected several shards: " + shards);
            Fixtures.assumePythonTorch();
            Path master = checkpoint.resolve("master").resolve(HfCheckpoint.SINGLE_FILE);
            for (Path shard : shards) {
                Fixtures.Result check = Fixtures.runChecker(shard, master);
                assertEquals(0, check.exitCode(), shard + ": " + check.stderr());
            }
        }
    }

    @Test
    void refusesAnExistingOutputAndAnIncompleteCheckpoint() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            Path checkpoint = checkpoint(manager);
            Path existing = Files.createDirectories(tmp.resolve("taken"));
            IllegalArgumentException taken = assertThrows(IllegalArgumentException.class,
                    () -> Export.run(checkpoint, DataType.BFLOAT16, existing, Fixtures.HF_SHARD_BYTES));
            assertTrue(taken.getMessage().contains("already exists"), taken.getMessage());
            Files.delete(checkpoint.resolve(CheckpointManager.MARKER));
            Path out = tmp.resolve("out");
            IllegalArgumentException incomplete = assertThrows(IllegalArgumentException.class,
                    () -> Export.run(checkpoint, DataType.FLOAT16, out, Fixtures.HF_SHARD_BYTES));
            assertTrue(incomplete.getMessage().contains("not a complete checkpoint"), incomplete.getMessage());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void exportOfAFloat32CheckpointReadsModelWhereNoMasterCopyIsKept() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaModel model = LlamaModel.create(LlamaConfig.tiny(), manager, 5);
            Path dir = tmp.resolve("step_00000001");
            MasterWeights.write(AtomicFileWriter.UNOBSERVED, dir, model.config(), model.parameters(),
                    Fixtures.HF_SHARD_BYTES, DataType.FLOAT32, null);
            Files.writeString(dir.resolve(CheckpointManager.MARKER), "step 1\n");
            assertFalse(Files.exists(dir.resolve("master")), "float32 saves write the weights once");
            Export.Result r = Export.run(dir, DataType.FLOAT32, tmp.resolve("f32"), Fixtures.HF_SHARD_BYTES);
            assertEquals(dir.resolve("model"), r.weights());
            assertArrayEquals(Files.readAllBytes(dir.resolve("model/model.safetensors")),
                    Files.readAllBytes(tmp.resolve("f32/model.safetensors")), "a float32 export is the same bytes");
        }
    }
}
