package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.dataprep.prepare.DataConfig;
import org.agentflan.dataprep.prepare.PrepareJob;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.metrics.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract between the two stages, end to end: {@code prepare} (real Spark, the bundled sample data, the real
 * tokenizer) writes shards; {@code train} (tiny recipe) reads exactly those, stops at a step, resumes from its
 * checkpoint, finishes; {@code generate} answers from the final checkpoint's model/ folder (tokenizer included).
 */
class PrepareTrainEndToEndTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    @TempDir Path tmp;

    @Test
    void trainerReadsWhatPrepareWritesThenResumesAndTheCheckpointGenerates() throws Exception {
        // The recipes use repository-relative paths; tests run in launch/, so anchor them at the repository root.
        Path dataYaml = tmp.resolve("sample.yaml");
        Files.writeString(dataYaml, Files.readString(ROOT.resolve("configs/data/sample.yaml"))
                .replace("path: sample-data/", "path: " + ROOT + "/sample-data/"));
        Path data = tmp.resolve("data");
        PrepareJob.Result prepared = PrepareJob.run(DataConfig.load(dataYaml, List.of(
                "output=" + data, "tokenizer=" + ROOT.resolve("sample-data/llama2-tokenizer"))));
        assertTrue(Files.isRegularFile(data.resolve("manifest.json")), prepared.toString());

        Path run = tmp.resolve("run");
        String config = ROOT.resolve("configs/train/tiny.yaml").toString();
        String[] common = {"train", "--config", config, "--run-dir", run.toString(), "--max-steps", "8",
            "--set", "data.dirs=[" + data + "]", "--set", "model.tokenizer_dir=" + ROOT.resolve("sample-data/llama2-tokenizer"),
            "--set", "checkpoint.every=2", "--set", "eval.every=4", "--set", "data.seq_len=128"};
        CliRun first = CliRun.of(concat(common, "--stop-at-step", "4"));
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.out().contains("stop_at_step at step 4/8"), first.out());
        CliRun second = CliRun.of(common);
        assertEquals(0, second.code(), second.out() + second.err());
        assertTrue(second.out().contains("resuming from " + run.resolve("checkpoints/step_00000004")), second.out());
        assertTrue(second.out().contains("completed at step 8/8"), second.out());

        // The trainer saw every sample prepare emitted (train + held-out eval), with the same loss-token total.
        java.util.regex.Matcher counts = java.util.regex.Pattern
                .compile("data: (\\d+) train samples .* (\\d+) eval samples").matcher(first.out());
        assertTrue(counts.find(), first.out());
        assertEquals(prepared.manifest().totals().emitted(),
                Long.parseLong(counts.group(1)) + Long.parseLong(counts.group(2)), first.out());
        assertTrue(TrainConfig.load(Path.of(config), List.of()).data().holdoutFraction() > 0);
        List<JsonNode> metrics = MetricsLog.read(run.resolve("metrics.jsonl"));
        assertEquals(8, metrics.stream().filter(l -> l.get("type").asText().equals("train")).count());
        assertTrue(metrics.stream().anyMatch(l -> l.get("type").asText().equals("eval")), "eval loss lines expected");
        assertTrue(Files.size(run.resolve("loss.png")) > 1000);

        Path model = run.resolve("checkpoints").resolve(CheckpointManager.dirName(8)).resolve("model");
        try (Stream<Path> files = Files.list(model)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().equals("tokenizer.json")), "tokenizer copied into model/");
        }
        CliRun reply = CliRun.of("generate", "--model", model.toString(), "--tokenizer", model.toString(),
                "--prompt", "Which tool finds the weather?", "--max-new-tokens", "8");
        assertEquals(0, reply.code(), reply.out() + reply.err());
        assertFalse(reply.out().isBlank());

        CliRun bad = CliRun.of("train", "--config", config, "--run-dir", tmp.resolve("bad").toString(), "--set", "optimizer.lr=-1",
                "--set", "batch.micro_batchh=2");
        assertEquals(2, bad.code());
        // Both mistakes in one run: the bad value and the unknown key, each with the --set it came from.
        assertTrue(bad.err().contains("--set optimizer.lr=-1: optimizer.lr must be > 0, got -1.0"), bad.err());
        assertTrue(bad.err().contains("--set batch.micro_batchh=2: unknown key 'batch.micro_batchh' (did you mean"
                + " 'micro_batch'?)"), bad.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
