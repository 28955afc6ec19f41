package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.config.ConfigException;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.optim.LrSchedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainConfigTest {
    /** Every recipe in configs/train loads, validates, and starts with a comment giving the command that runs it. */
    @Test
    void everyTrainRecipeLoadsAndNamesItsCommand() throws Exception {
        Path dir = Path.of("..", "configs", "train");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 2, "expected tiny.yaml and agent-flan-7b.yaml in " + dir.toAbsolutePath());
        for (Path file : files) {
            TrainConfig cfg = TrainConfig.load(file, List.of());
            assertTrue(cfg.problems().isEmpty(), file + ": " + cfg.problems());
            String text = Files.readString(file);
            assertTrue(text.startsWith("#"), file + " must start with a comment");
            assertTrue(text.contains("agentflan train --config configs/train/" + file.getFileName()),
                    file + " must give its command in the header");
        }
        TrainConfig sevenB = TrainConfig.load(dir.resolve("agent-flan-7b.yaml"), List.of());
        assertEquals(128, sevenB.batch().microBatch() * sevenB.batch().gradAccum());
        assertEquals(4096, sevenB.data().seqLen());
        assertEquals(2e-5, sevenB.optimizer().lr());
        assertEquals(TrainConfig.Dtype.BFLOAT16, sevenB.computeDtype());
    }

    @Test
    void unknownKeysAndBadValuesAreAllReportedBeforeAnyWork() {
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> TrainConfig.load(null, List.of("optimizer.learning_rate=1")));
        assertTrue(unknown.getMessage().contains("optimizer.learning_rate"), unknown.getMessage());
        ConfigException bad = assertThrows(ConfigException.class, () -> TrainConfig.load(null, List.of(
                "batch.micro_batch=0", "schedule.kind=step", "data.overlong=cut", "optimizer.learning_rate=1")));
        assertEquals(List.of(
                "--set batch.micro_batch=0: batch.micro_batch must be > 0, got 0",
                "--set schedule.kind=step: schedule.kind must be one of cosine, linear, constant; got 'step'",
                "--set data.overlong=cut: data.overlong must be one of split, drop; got 'cut'",
                "--set optimizer.learning_rate=1: unknown key 'optimizer.learning_rate'; known keys here: lr, beta1, beta2,"
                        + " eps, weight_decay"), bad.problems());
    }

    /** An unknown model.init used to train the tiny model; every closed set now refuses what it does not hold. */
    @Test
    void closedSetsRefuseUnknownValuesNamingTheAllowedOnes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.yaml");
        Files.writeString(file, "compute_dtype: fp8\nmodel:\n  init: llama3_8b\ncheckpoint:\n  save_dtype: BF16\n");
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.load(file, List.of()));
        assertEquals(List.of(
                file + " line 1: compute_dtype must be one of float32, float16, bfloat16; got 'fp8'",
                file + " line 3: model.init must be one of tiny, llama2_7b, llama2_13b, llama2_70b, hf; got 'llama3_8b'",
                file + " line 5: checkpoint.save_dtype must be one of float32, float16, bfloat16; got 'BF16'"), e.problems());
        TrainConfig hf = TrainConfig.load(null, List.of("model.init=hf", "model.hf_dir=/models/llama", "schedule.kind=linear"));
        assertEquals(TrainConfig.Init.HF, hf.model().init());
        assertEquals(LrSchedule.Kind.LINEAR, hf.schedule().kind());
        assertEquals("hf", ConfigLoader.toTree(hf).get("model").get("init").textValue());
        ConfigException noDir = assertThrows(ConfigException.class, () -> TrainConfig.load(null, List.of("model.init=hf")));
        assertEquals(List.of("--set model.init=hf: model.hf_dir must name an HF checkpoint folder when model.init is hf"),
                noDir.problems());
    }

    @Test
    void wholeNumbersAndFiniteNumbersAreEnforced() {
        ConfigException e = assertThrows(ConfigException.class, () -> TrainConfig.load(null, List.of(
                "batch.micro_batch=2.7", "optimizer.lr=1e400", "clip.max_norm=.nan", "checkpoint.max_shard_bytes=5e9")));
        assertEquals(List.of(
                "--set batch.micro_batch=2.7: batch.micro_batch must be a whole number, got 2.7",
                "--set optimizer.lr=1e400: optimizer.lr must be a finite number, got 1e400",
                "--set clip.max_norm=.nan: clip.max_norm must be a finite number, got .nan"), e.problems());
    }
}
