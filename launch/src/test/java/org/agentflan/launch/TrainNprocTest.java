package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentflan train --nproc 2} as a user runs it, in a child JVM that starts two rank JVMs on 127.0.0.1: a run to
 * the end with every line prefixed by its rank; SIGKILL of one rank mid-run, which the launcher names as the rank
 * that failed (the other names it as lost) before the same command resumes from the newest checkpoint; SIGTERM to the
 * launcher, which every rank receives, stopping all after one step with one checkpoint and status 75.
 */
class TrainNprocTest {
    private static final Path ROOT = PreparedSample.ROOT;
    private static final Path TOKENIZER = PreparedSample.TOKENIZER;
    @TempDir static Path shared;
    static Path data;
    @TempDir Path tmp;

    @BeforeAll
    static void prepareTheSample() throws Exception {
        String reason = GlooCollectives.unavailableReason();
        assumeTrue(reason == null, () -> "skipped: " + reason);
        data = PreparedSample.into(shared);
    }

    @Test
    void twoRanksTrainToTheEndWithTheirOutputPrefixed() throws Exception {
        Path run = tmp.resolve("run");
        Launcher job = Launcher.start(tmp, run, "--max-steps", "4", "--set", "checkpoint.every=2");
        String out = job.finish();
        assertEquals(0, job.process().exitValue(), out);
        assertTrue(out.contains("train --nproc: starting 2 ranks on 127.0.0.1:"), out);
        assertTrue(out.contains("[rank 0] plan: 4 steps of 1 x 4 rows x 2 ranks"), out);
        assertTrue(out.contains("[rank 1] distributed: rank 1 of 2 (local rank 1)"), out);
        assertTrue(out.contains("[rank 0] run " + run + ": completed at step 4/4"), out);
        assertTrue(out.contains("[rank 1] rank 1: completed at step 4/4"), out);
        Path latest = run.resolve("checkpoints").resolve(CheckpointManager.dirName(4));
        assertEquals(2, TrainerState.read(latest).worldSize());
        for (String line : out.lines().toList()) {
            assertTrue(line.startsWith("[rank 0] ") || line.startsWith("[rank 1] ") || line.startsWith("train --nproc: ")
                    || line.startsWith("WARNING: "), "every line is prefixed: " + line);
        }
    }

    @Test
    void aKilledRankIsNamedAndTheSameCommandResumes() throws Exception {
        Path run = tmp.resolve("run");
        String[] args = {"--max-steps", "100000", "--set", "checkpoint.every=2"};
        Launcher job = Launcher.start(tmp, run, args);
        job.awaitLine("[rank 0] step 3/100000");
        long rank1 = job.rankPid(1);
        assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(rank1)).start().waitFor());
        long killedAt = System.nanoTime();
        String out = job.finish();
        double seconds = (System.nanoTime() - killedAt) / 1e9;
        System.out.printf("rank 1 killed; the launcher exited %d after %.1f s%n", job.process().exitValue(), seconds);
        assertEquals(2, job.process().exitValue(), out);
        assertTrue(seconds < 60, "the job took " + seconds + " s to stop after the kill\n" + out);
        assertTrue(out.contains("train --nproc: rank 1 was killed by SIGKILL (exit status 137)"), out);
        assertTrue(out.contains("train --nproc: rank 1 failed first: it was killed by SIGKILL (exit status 137); then rank 0"
                + " exited with status 2"), out);
        String error = out.lines().filter(l -> l.startsWith("[rank 0] error: ")).findFirst().orElse("(none)");
        assertTrue(error.contains("rank 1 is lost") && error.contains("relaunch every rank to resume from"), out);

        Matcher resumeFrom = Pattern.compile("resume from (\\S+step_(\\d+))").matcher(error);
        assertTrue(resumeFrom.find(), error);
        long step = Long.parseLong(resumeFrom.group(2));
        Launcher relaunch = Launcher.start(tmp, run, append(args, "--stop-at-step", Long.toString(step + 1)));
        String again = relaunch.finish();
        assertEquals(0, relaunch.process().exitValue(), again);
        assertTrue(again.contains("[rank 0] resuming from " + resumeFrom.group(1)), again);
        assertTrue(again.contains("[rank 1] rank 1: stop_at_step at step " + (step + 1)), again);
    }

    @Test
    void ranksWhoseLauncherIsKilledCheckpointAndExit() throws Exception {
        Path run = tmp.resolve("run");
        Launcher job = Launcher.start(tmp, run, "--max-steps", "100000", "--set", "checkpoint.every=0");
        job.awaitLine("[rank 0] step 2/100000");
        List<ProcessHandle> ranks = List.of(ProcessHandle.of(job.rankPid(0)).orElseThrow(),
                ProcessHandle.of(job.rankPid(1)).orElseThrow());
        assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(job.process().pid())).start().waitFor());
        for (ProcessHandle rank : ranks) {
            try {
                rank.onExit().get(2, TimeUnit.MINUTES);
            } catch (java.util.concurrent.TimeoutException e) {
                ranks.forEach(ProcessHandle::destroyForcibly);
                fail("rank pid " + rank.pid() + " still runs 2 minutes after its launcher was killed");
            }
        }
        Path checkpoints = run.resolve("checkpoints");
        Path latest = checkpoints.resolve(Files.readString(checkpoints.resolve(CheckpointManager.LATEST)).trim());
        assertTrue(CheckpointManager.isComplete(latest), latest.toString());
        assertEquals(2, TrainerState.read(latest).worldSize());
    }

    @Test
    void sigtermToTheLauncherStopsEveryRankAfterOneStepWithOneCheckpoint() throws Exception {
        Path run = tmp.resolve("run");
        Launcher job = Launcher.start(tmp, run, "--max-steps", "100000", "--set", "checkpoint.every=0");
        job.awaitLine("[rank 0] step 2/100000");
        assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(job.process().pid())).start().waitFor());
        String out = job.finish();
        assertEquals(75, job.process().exitValue(), out);
        assertTrue(out.contains("train --nproc: received SIGTERM, passing it to 2 ranks"), out);
        assertTrue(out.contains("train --nproc: every rank exited with status 75"), out);
        Matcher stopped = Pattern.compile("\\[rank 0\\] run \\S+: signal_term at step (\\d+)/100000").matcher(out);
        assertTrue(stopped.find(), out);
        long step = Long.parseLong(stopped.group(1));
        assertTrue(out.contains("[rank 1] rank 1: signal_term at step " + step + "/100000"), "same step on rank 1\n" + out);
        Path checkpoint = run.resolve("checkpoints").resolve(CheckpointManager.dirName(step));
        assertTrue(CheckpointManager.isComplete(checkpoint), out);
        assertEquals(CheckpointManager.dirName(step),
                Files.readString(run.resolve("checkpoints").resolve(CheckpointManager.LATEST)).trim());
        try (var checkpoints = Files.list(run.resolve("checkpoints"))) {
            assertEquals(2, checkpoints.count(), "one checkpoint and latest"); // checkpoint.every=0: only the stop saves
        }
    }

    private static String[] append(String[] args, String... more) {
        String[] all = Arrays.copyOf(args, args.length + more.length);
        System.arraycopy(more, 0, all, args.length, more.length);
        return all;
    }

    /** {@code agentflan train --nproc 2} on the tiny recipe and the prepared sample, in a child JVM. */
    private record Launcher(ChildCli child) {
        static Launcher start(Path tmp, Path run, String... more) throws Exception {
            List<String> args = new ArrayList<>(List.of("train", "--nproc", "2", "--config", ROOT.resolve("configs/train/tiny.yaml").toString(),
                    "--run-dir", run.toString(), "--set", "data.dirs=[" + data + "]", "--set", "model.tokenizer_dir=" + TOKENIZER,
                    "--set", "data.seq_len=128", "--set", "log.every=1", "--set", "threads=1", "--set", "eval.every=0",
                    "--set", "distributed.timeout_s=60"));
            args.addAll(List.of(more));
            return new Launcher(ChildCli.start(Files.createTempFile(tmp, "launcher-", ".log"), args));
        }

        Process process() {
            return child.process();
        }

        String finish() throws Exception {
            return child.finish(4);
        }

        void awaitLine(String prefix) throws Exception {
            child.awaitLine(prefix);
        }

        /** The pid of the launcher's child with RANK={@code rank} in its environment. */
        long rankPid(int rank) throws Exception {
            for (ProcessHandle child : process().toHandle().children().toList()) {
                byte[] environ = Files.readAllBytes(Path.of("/proc", Long.toString(child.pid()), "environ"));
                if (Arrays.asList(new String(environ, StandardCharsets.UTF_8).split("\0")).contains("RANK=" + rank)) {
                    return child.pid();
                }
            }
            throw new AssertionError("no child with RANK=" + rank);
        }
    }
}
