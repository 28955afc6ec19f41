package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentflan submit --target slurm} on a real Slurm cluster on 127.0.0.1 ({@link SlurmLoopback}): the rendered
 * sbatch job with 2 tasks trains the tiny recipe on the prepared sample to the end, two ranks of Gloo; and a job that
 * gets SIGUSR1 (what {@code --signal=USR1@LEAD} sends before the time limit) requeues itself, and after a restart gets
 * {@code scontrol requeue} (SIGTERM), checkpoints on each signal, resumes after each restart by itself, and ends with
 * weights and optimizer state bit-identical to the uninterrupted job's.
 */
class SlurmTrainIT {
    private static final Path ROOT = PreparedSample.ROOT;
    private static final int STEPS = 16;
    private static final Duration JOB = Duration.ofMinutes(4);
    @TempDir static Path shared;
    static SlurmLoopback cluster;
    static Path data;
    /** The uninterrupted job, once a test has run it. */
    private static Job reference;

    /** A submitted job and its run folder, where its log is. */
    private record Job(long id, Path run) {
        Path log() {
            return run.resolve("slurm-" + id + ".out");
        }
    }

    @BeforeAll
    static void startTheClusterAndPrepareTheSample() throws Exception {
        Optional<String> noSlurm = SlurmLoopback.unavailableReason();
        assumeTrue(noSlurm.isEmpty(), noSlurm::get);
        String noGloo = GlooCollectives.unavailableReason();
        assumeTrue(noGloo == null, () -> "skipped: " + noGloo);
        assertTrue(Files.isRegularFile(ROOT.resolve("launch/target/agentflan.jar")),
                "the job runs scripts/agentflan, which needs launch/target/agentflan.jar: run mvn verify");
        cluster = SlurmLoopback.start(shared.resolve("slurm"));
        data = PreparedSample.into(shared);
    }

    @AfterAll
    static void stopTheCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aTwoTaskJobTrainsToTheEnd() throws Exception {
        Job job = uninterruptedRun();
        Path run = job.run();
        String log = Files.readString(job.log());
        assertTrue(log.contains("0: distributed: rank 0 of 2 (local rank 0), store at localhost:"), log);
        assertTrue(log.contains("1: distributed: rank 1 of 2 (local rank 1), store at localhost:"), log);
        assertTrue(log.contains(", from Slurm's environment (job "), log);
        assertTrue(log.contains("0: run " + run + ": completed at step " + STEPS + "/" + STEPS), log);
        assertTrue(log.contains("1: rank 1: completed at step " + STEPS + "/" + STEPS), log);
        assertEquals(2, TrainerState.read(finalCheckpoint(run)).worldSize());
    }

    @Test
    void aPreemptedJobCheckpointsRequeuesResumesAndEndsWithTheWeightsOfAnUninterruptedOne() throws Exception {
        Path run = shared.resolve("run-preempted");
        Job submitted = submit(run, "preempted");
        long job = submitted.id();
        Path logFile = submitted.log();

        // The time limit's warning: USR1 to every task of the step, as --signal=USR1@LEAD sends it.
        awaitLine(job, logFile, "0: step 3/" + STEPS);
        cluster.client("scancel", "--signal=USR1", Long.toString(job));
        cluster.awaitJobState(job, "PENDING", JOB); // the script saw 75 and requeued the job
        String first = Files.readString(logFile);
        long usr1Step = stoppedAt(first, "signal_usr1", run);
        assertTrue(first.contains("1: received SIGUSR1: finishing this step, then checkpoint and exit"), first);
        assertTrue(first.contains("1: rank 1: signal_usr1 at step " + usr1Step + "/" + STEPS), "same step\n" + first);
        assertTrue(first.contains("agentflan: the ranks checkpointed and exited 75; requeueing job " + job + " to resume"), first);
        restartNow(job);

        // A requeue (or a preemption): SIGTERM to every task and to the script, which Slurm restarts by itself.
        awaitLine(job, logFile, "0: step " + (usr1Step + 2) + "/" + STEPS);
        cluster.client("scontrol", "requeue", Long.toString(job));
        cluster.awaitJobState(job, "PENDING", JOB);
        String second = Files.readString(logFile);
        long termStep = stoppedAt(second, "signal_term", run);
        restartNow(job);
        cluster.awaitJobState(job, "COMPLETED", JOB);

        String log = Files.readString(logFile);
        assertEquals("2", cluster.jobField(job, "Restarts"), log);
        assertTrue(log.contains("agentflan: job " + job + " on localhost, restart 2,"), log);
        assertTrue(log.contains("from Slurm's environment (job " + job + ", step 0, restart 1)"), log);
        assertTrue(log.contains("0: resuming from " + checkpoint(run, usr1Step) + " (step " + usr1Step + ")"), log);
        assertTrue(log.contains("0: resuming from " + checkpoint(run, termStep) + " (step " + termStep + ")"), log);
        assertTrue(log.contains("0: run " + run + ": completed at step " + STEPS + "/" + STEPS), log);

        Path resumed = finalCheckpoint(run);
        Path uninterrupted = finalCheckpoint(uninterruptedRun().run());
        List<Path> files = new ArrayList<>(List.of(Path.of("optimizer.safetensors")));
        try (Stream<Path> model = Files.list(resumed.resolve("model"))) {
            model.filter(f -> f.toString().endsWith(".safetensors")).forEach(f -> files.add(resumed.relativize(f)));
        }
        assertTrue(files.size() > 1, "no model weights in " + resumed);
        for (Path file : files) {
            assertEquals(-1, Files.mismatch(resumed.resolve(file), uninterrupted.resolve(file)),
                    file + " differs from the uninterrupted job's\n" + log);
        }
    }

    /** The uninterrupted job, run once for both tests. */
    private static synchronized Job uninterruptedRun() throws Exception {
        if (reference == null) {
            Job job = submit(shared.resolve("run-uninterrupted"), "uninterrupted");
            cluster.awaitJobState(job.id(), "COMPLETED", JOB);
            assertEquals("0:0", cluster.jobField(job.id(), "ExitCode"), Files.readString(job.log()));
            reference = job;
        }
        return reference;
    }

    /**
     * {@code scripts/agentflan submit --target slurm} as a user runs it, with SLURM_CONF naming the loopback cluster
     * (the job gets this environment, as sbatch passes it on); returns the job id its summary names.
     */
    private static Job submit(Path run, String name) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("scripts/agentflan").toString(), "submit",
                "--target", "slurm", "--config", ROOT.resolve("configs/train/tiny.yaml").toString(),
                "--job-name", name, "--out", shared.resolve("submit-" + name).toString(), "--ranks-per-node", "2",
                "--time", "30"));
        for (String override : List.of("run_dir=" + run, "data.dirs=[" + data + "]", "model.tokenizer_dir=" + PreparedSample.TOKENIZER,
                "data.seq_len=128", "max_steps=" + STEPS, "log.every=1", "threads=1", "eval.every=0",
                "checkpoint.every=0", "distributed.timeout_s=120")) {
            cmd.add("--set");
            cmd.add(override);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(cluster.environment());
        pb.environment().put("AGENTFLAN_JAVA_OPTS", "-Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), out);
        assertEquals(0, p.exitValue(), out);
        Matcher id = Pattern.compile("submitted Slurm job (\\d+) \\(1 x 2 ranks\\); follow it with squeue -j (\\d+) and "
                + Pattern.quote(run.toString()) + "/slurm-(\\d+)\\.out").matcher(out);
        assertTrue(id.find(), out);
        assertEquals(id.group(1), id.group(2), out);
        assertEquals(id.group(1), id.group(3), out);
        return new Job(Long.parseLong(id.group(1)), run);
    }

    /** Waits for a line starting with {@code prefix} in the job's log; fails if the job ends first. */
    /**
     * Starts a requeued job at once. Slurm dates credentials to the second: a job started again within the second of
     * its requeue gets a credential no newer than the old one's revocation, and slurmd refuses it ("Job credential
     * revoked"), so the release waits for the next second but one. A real cluster's requeue delay is far longer.
     */
    private static void restartNow(long job) throws Exception {
        Thread.sleep(2000);
        cluster.client("scontrol", "update", "jobid=" + job, "StartTime=now");
    }

    private static void awaitLine(long job, Path log, String prefix) throws Exception {
        long deadline = System.nanoTime() + JOB.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).lines().anyMatch(l -> l.startsWith(prefix))) {
                return;
            }
            String state = cluster.jobField(job, "JobState");
            if (!state.equals("RUNNING") && !state.equals("PENDING") && !state.equals("CONFIGURING")) {
                throw new AssertionError("job " + job + " is " + state + " before '" + prefix + "'\n" + read(log) + cluster.logs());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + prefix + "' within " + JOB.toSeconds() + " s\n" + read(log) + cluster.logs());
    }

    /** The step rank 0 stopped at for {@code reason}, whose checkpoint must be complete. */
    private static long stoppedAt(String log, String reason, Path run) {
        Matcher stopped = Pattern.compile("0: run " + Pattern.quote(run.toString()) + ": " + reason + " at step (\\d+)/"
                + STEPS).matcher(log);
        assertTrue(stopped.find(), log);
        long step = Long.parseLong(stopped.group(1));
        assertTrue(step < STEPS, "stopped before the end\n" + log);
        assertTrue(CheckpointManager.isComplete(checkpoint(run, step)), log);
        return step;
    }

    private static Path checkpoint(Path run, long step) {
        return run.resolve("checkpoints").resolve(CheckpointManager.dirName(step));
    }

    private static Path finalCheckpoint(Path run) {
        Path last = checkpoint(run, STEPS);
        assertTrue(CheckpointManager.isComplete(last), "no complete checkpoint " + last);
        return last;
    }

    private static String read(Path log) throws Exception {
        return Files.exists(log) ? Files.readString(log) : "(no log at " + log + ")\n";
    }
}
