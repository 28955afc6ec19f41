package org.agentflan.launch.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.agentflan.dataprep.testing.SparkStandaloneCluster;
import org.agentflan.launch.Main;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentflan submit} for real against a Spark standalone master and worker on 127.0.0.1
 * ({@link SparkStandaloneCluster}), through the cluster's {@code bin/spark-submit} as a user's SPARK_HOME has it:
 * {@code --target spark-data} prepares the bundled sample with data-prep's cluster jar, then {@code --target spark}
 * trains the tiny recipe as one barrier stage of 2 tasks with launch's cluster jar. The Spark home holds Spark's jars
 * only, so the runs also prove the cluster jars carry everything else. The run must end with the weights and optimizer
 * state of {@code train --nproc 2} on the same recipe and data, byte for byte: both are 2 Gloo ranks of one thread
 * each, doing the same arithmetic. A second run has rank 1 killed by SIGKILL once it has joined: the task fails, the
 * stage fails, the driver runs the stage again, and that run ends with the same bytes.
 */
class SparkBarrierTrainIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path TOKENIZER = ROOT.resolve("sample-data/llama2-tokenizer");
    private static final long STEPS = 4;

    @TempDir Path tmp;

    @Test
    void aTwoTaskBarrierStageTrainsAsTrainNproc2() throws Exception {
        String gloo = GlooCollectives.unavailableReason();
        assumeTrue(gloo == null, () -> "skipped: " + gloo);
        Path data = tmp.resolve("data");
        Path sparkRun = tmp.resolve("spark-run");
        Path retriedRun = tmp.resolve("spark-retried-run");
        // Spark's UI is not needed; a failed stage is run once more (the retry below), not 4 times.
        List<String> defaults = List.of("spark.ui.enabled false", "spark.stage.maxConsecutiveAttempts 2");
        try (SparkStandaloneCluster cluster = SparkStandaloneCluster.start(tmp, tmp, 2, "2g", defaults)) {
            // Two of the sample's sources, as PrepareClusterIT takes them: enough rows for a few steps, and a data
            // stage short enough for a loaded 2-core machine.
            Path recipe = Files.writeString(tmp.resolve("sample.yaml"), String.join("\n",
                    "sources:",
                    "  - {name: agent_flan, path: '" + ROOT + "/sample-data/agent-flan/*.jsonl', format: agent_flan, weight: 1.0}",
                    "  - {name: toolbench, path: '" + ROOT + "/sample-data/toolbench-raw/*.json', format: toolbench_raw, weight: 1.5}",
                    "negatives: {enabled: false}",
                    "format_alignment: {sources: [toolbench]}",
                    "partitions: 2", ""));
            String prepared = submit(cluster, "submit-data", "--target", "spark-data", "--master", cluster.masterUrl(),
                    "--config", recipe.toString(), "--set", "output=" + data, "--set", "tokenizer=" + TOKENIZER);
            assertTrue(prepared.contains("prepare: wrote"), prepared);
            assertTrue(Files.isRegularFile(data.resolve("manifest.json")), prepared);

            String trained = submit(cluster, "submit-train", submitTrain(cluster, sparkRun, data));
            assertTrue(trained.contains("spark barrier train: 2 ranks as one barrier stage on " + cluster.masterUrl()), trained);
            assertTrue(trained.contains("spark barrier train: rank 0 on 127.0.0.1 exited with status 0: run " + sparkRun
                    + ": completed at step " + STEPS + "/" + STEPS), trained);
            assertTrue(trained.contains("spark barrier train: rank 1 on 127.0.0.1 exited with status 0: rank 1: completed at step "
                    + STEPS + "/" + STEPS), trained);
            String executors = executorOutput(false);
            assertTrue(executors.contains("[rank 1] distributed: rank 1 of 2 (local rank 1)"), executors);

            // The same run again, with rank 1 killed as soon as it has joined the job.
            Process retried = cluster.start("submit-retried", submitCommand("submit-retried", submitTrain(cluster, retriedRun, data)));
            long rank1 = awaitRank1Joined(retried);
            assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(rank1)).start().waitFor());
            String again = finish(cluster, "submit-retried", retried);
            assertTrue(again.contains("spark barrier train: rank 0 on 127.0.0.1 exited with status 0: run " + retriedRun
                    + ": completed at step " + STEPS + "/" + STEPS), again);
            assertTrue(again.contains("spark barrier train: attempt 1 of 2 failed: "), again);
            assertTrue(again.contains("rank 1 on 127.0.0.1 was killed by SIGKILL (exit status 137)"), again);
        }

        Path nprocRun = tmp.resolve("nproc-run");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "train", "--nproc", "2", "--config", ROOT.resolve("configs/train/tiny.yaml").toString(), "--run-dir", nprocRun.toString()));
        for (String set : trainSets(data)) {
            cmd.addAll(List.of("--set", set));
        }
        Path nprocLog = tmp.resolve("nproc.log");
        Process nproc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(nprocLog.toFile()).start();
        assertTrue(nproc.waitFor(5, TimeUnit.MINUTES), "train --nproc 2 did not finish:\n" + Files.readString(nprocLog));
        assertEquals(0, nproc.exitValue(), Files.readString(nprocLog));

        Path reference = nprocRun.resolve("checkpoints").resolve(CheckpointManager.dirName(STEPS));
        assertSameCheckpoint(reference, sparkRun.resolve("checkpoints").resolve(CheckpointManager.dirName(STEPS)));
        assertSameCheckpoint(reference, retriedRun.resolve("checkpoints").resolve(CheckpointManager.dirName(STEPS)));
    }

    /** Every file byte for byte, but trainer_state.json, whose resolved config names another run_dir: its cursor. */
    private static void assertSameCheckpoint(Path expected, Path actual) throws IOException {
        assertEquals(2, TrainerState.read(actual).worldSize());
        List<Path> files = filesOf(actual);
        assertEquals(filesOf(expected), files);
        assertTrue(files.contains(Path.of("optimizer.safetensors")) && files.contains(Path.of("model/model.safetensors")), files.toString());
        for (Path file : files) {
            if (!file.toString().equals("trainer_state.json")) {
                assertArrayEquals(Files.readAllBytes(expected.resolve(file)), Files.readAllBytes(actual.resolve(file)),
                        actual + " differs: " + file);
            }
        }
        assertEquals(TrainerState.read(expected).cursor(), TrainerState.read(actual).cursor());
    }

    private static String[] submitTrain(SparkStandaloneCluster cluster, Path run, Path data) {
        List<String> args = new ArrayList<>(List.of("--target", "spark", "--master", cluster.masterUrl(), "--ranks-per-node", "2",
                "--config", ROOT.resolve("configs/train/tiny.yaml").toString(), "--set", "run_dir=" + run));
        for (String set : trainSets(data)) {
            args.addAll(List.of("--set", set));
        }
        return args.toArray(String[]::new);
    }

    /**
     * The pid of the retried run's rank 1 once it has joined the job: a {@link RankProcess} with RANK=1 and that
     * run's folder, below this test (the cluster's processes are its descendants), after the second "all 2 ranks
     * joined" line of a rank 1 in the executors' logs (the first run's is the first).
     */
    private long awaitRank1Joined(Process submit) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
        while (System.nanoTime() < deadline && submit.isAlive()) {
            for (ProcessHandle p : ProcessHandle.current().descendants().toList()) {
                List<String> args = proc(p, "cmdline");
                if (args.contains(RankProcess.class.getName()) && args.contains("run_dir=" + tmp.resolve("spark-retried-run"))
                        && proc(p, "environ").contains("RANK=1")
                        && executorOutput(false).lines().filter(l -> l.startsWith("[rank 1] distributed: all 2 ranks joined")).count() == 2) {
                    return p.pid();
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("rank 1 of the second run was not seen joining:\n" + Files.readString(tmp.resolve("submit-retried.log"))
                + executorLogs());
    }

    /** A NUL-separated file of /proc/PID (cmdline, environ); empty once the process is gone. */
    private static List<String> proc(ProcessHandle p, String file) {
        try {
            return List.of(Files.readString(Path.of("/proc", Long.toString(p.pid()), file)).split("\0"));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The recipe's overrides both runs share: the prepared data, few short steps, one thread per rank. */
    private static List<String> trainSets(Path data) {
        return List.of("data.dirs=[" + data + "]", "model.tokenizer_dir=" + TOKENIZER, "data.seq_len=128", "threads=1",
                "max_steps=" + STEPS, "checkpoint.every=2", "log.every=1", "eval.every=0", "distributed.timeout_s=60");
    }

    /** Runs {@code agentflan submit ARGS} in its own JVM, as scripts/agentflan would, with the cluster's SPARK_HOME. */
    private String submit(SparkStandaloneCluster cluster, String name, String... args) throws Exception {
        return finish(cluster, name, cluster.start(name, submitCommand(name, args)));
    }

    private ProcessBuilder submitCommand(String name, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "submit"));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("--out", tmp.resolve(name).toString()));
        return new ProcessBuilder(cmd).directory(tmp.toFile());
    }

    /** Waits for a submit to end with status 0; returns its output. */
    private String finish(SparkStandaloneCluster cluster, String name, Process p) throws Exception {
        boolean finished = p.waitFor(10, TimeUnit.MINUTES);
        String log = Files.readString(cluster.log(name));
        assertTrue(finished, name + " did not finish in 10 minutes:\n" + SparkStandaloneCluster.tail(log) + executorLogs());
        assertEquals(0, p.exitValue(), name + " failed:\n" + SparkStandaloneCluster.tail(log) + executorLogs());
        return log;
    }

    /** The end of what each executor printed, for failure messages. */
    private String executorLogs() throws IOException {
        return executorOutput(true);
    }

    /** What the executors printed (each rank's lines, prefixed), whole or the end of each log. */
    private String executorOutput(boolean tails) throws IOException {
        Path work = tmp.resolve("work");
        if (!Files.isDirectory(work)) {
            return "";
        }
        try (Stream<Path> files = Files.walk(work)) {
            List<Path> logs = files.filter(p -> p.getFileName().toString().equals("stdout") || p.getFileName().toString().equals("stderr"))
                    .sorted().toList();
            StringBuilder all = new StringBuilder();
            for (Path log : logs) {
                all.append("\n--- ").append(work.relativize(log)).append('\n')
                        .append(tails ? SparkStandaloneCluster.tail(Files.readString(log)) : Files.readString(log));
            }
            return all.toString();
        }
    }

    private static List<Path> filesOf(Path checkpoint) throws IOException {
        try (Stream<Path> files = Files.walk(checkpoint)) {
            return files.filter(Files::isRegularFile).map(checkpoint::relativize).sorted().collect(Collectors.toList());
        }
    }
}
