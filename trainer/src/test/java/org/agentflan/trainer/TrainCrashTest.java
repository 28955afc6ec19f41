package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 a child JVM running the training loop at seeded random moments -- with checkpoint writes slowed by
 * {@code AGENTFLAN_TEST_CHECKPOINT_DELAY_MS} so that many kills land inside them -- several times in one run; every
 * restart must resume from the newest complete checkpoint, and the final weights must equal an uninterrupted run's.
 */
class TrainCrashTest {
    private static final String[] RUN = {"epochs=3", "checkpoint.every=1", "checkpoint.keep=2"};
    @TempDir Path tmp;

    @Test
    void killedRepeatedlyItStillEndsWithTheUninterruptedWeights() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Train.Result reference = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, RUN),
                tmp.resolve("reference"), null, null, null), new PrintStream(OutputStream.nullOutputStream()));

        Path run = tmp.resolve("crashed");
        CheckpointManager checkpoints = new CheckpointManager(run, 2);
        Random random = new Random(20240317);
        int kills = 0;
        List<String> history = new ArrayList<>();
        for (int attempt = 0; attempt < 12; attempt++) {
            Optional<Path> before = checkpoints.latestComplete();
            boolean kill = kills < 4;
            Process child = start(run, data, tmp.resolve("child-" + attempt + ".log"));
            if (kill) {
                // Wait until the child trains (a step line past its start), then kill 0-700 ms later: during a
                // step or a (slowed) checkpoint write, whatever the machine's load makes JVM start-up cost.
                Path childLog = tmp.resolve("child-" + attempt + ".log");
                long delay = random.nextInt(700);
                if (!awaitStepLine(child, childLog) || child.waitFor(delay, TimeUnit.MILLISECONDS)) {
                    history.add("attempt " + attempt + " finished before its kill");
                } else {
                    child.destroyForcibly(); // SIGKILL
                    child.waitFor();
                    kills++;
                    boolean midWrite;
                    try (var entries = Files.list(checkpoints.root())) {
                        midWrite = entries.anyMatch(p -> p.getFileName().toString().startsWith(".tmp-"));
                    } catch (java.nio.file.NoSuchFileException e) {
                        midWrite = false;
                    }
                    history.add("attempt " + attempt + " killed " + delay + " ms after a step line"
                            + (midWrite ? ", during a checkpoint write" : ""));
                }
            } else {
                assertTrue(child.waitFor(5, TimeUnit.MINUTES), "child did not finish");
            }
            String log = Files.readString(tmp.resolve("child-" + attempt + ".log"));
            Matcher m = Pattern.compile("resuming from (\\S+) \\(step (\\d+)\\)").matcher(log);
            if (m.find()) {
                assertEquals(before.map(Path::toString).orElse("(none)"), m.group(1),
                        "attempt " + attempt + " must resume from the newest complete checkpoint\n" + log);
            } else if (log.contains("plan:")) {
                assertTrue(before.isEmpty(), "attempt " + attempt + " started fresh although " + before + " existed\n" + log);
            }
            if (log.contains("child finished: completed")) {
                assertEquals(0, child.exitValue(), log);
                break;
            }
        }
        System.out.println("crash test: " + String.join("; ", history));
        assertTrue(kills >= 3, "the test must kill the trainer several times: " + history);
        Path last = checkpoints.latestComplete().orElseThrow();
        assertEquals(reference.lastCheckpoint().getFileName(), last.getFileName(), String.join("\n", history));
        assertArrayEquals(Files.readAllBytes(reference.lastCheckpoint().resolve("model/model.safetensors")),
                Files.readAllBytes(last.resolve("model/model.safetensors")), "final weights after " + history);
        assertArrayEquals(Files.readAllBytes(reference.lastCheckpoint().resolve("optimizer.safetensors")),
                Files.readAllBytes(last.resolve("optimizer.safetensors")), "final optimizer state");
    }

    /** Waits for a progress line ("step N/M") in the child's log; false if the child exits first. */
    private static boolean awaitStepLine(Process child, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline && child.isAlive()) {
            if (Files.exists(log) && Pattern.compile("(?m)^step \\d+/").matcher(Files.readString(log)).find()) {
                return true;
            }
            Thread.sleep(20);
        }
        return child.isAlive();
    }

    @Test
    void sigtermFinishesTheStepWritesACheckpointAndExits() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path run = tmp.resolve("term");
        Path log = tmp.resolve("term.log");
        Process child = start(run, data, log);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!(Files.exists(log) && Files.readString(log).contains("step 2/")) && System.nanoTime() < deadline && child.isAlive()) {
            Thread.sleep(50);
        }
        child.destroy(); // SIGTERM
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "trainer did not exit after SIGTERM");
        String out = Files.readString(log);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("received SIGTERM"), out);
        Matcher finished = Pattern.compile("child finished: signal_term at step (\\d+)").matcher(out);
        assertTrue(finished.find(), out);
        Path last = new CheckpointManager(run, 2).latestComplete().orElseThrow();
        assertEquals(CheckpointManager.dirName(Long.parseLong(finished.group(1))), last.getFileName().toString(), out);
    }

    private static Process start(Path run, Path data, Path log) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(TrainChildMain.class.getName());
        cmd.add(run.toString());
        cmd.add(data.toString());
        cmd.addAll(List.of(RUN));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("AGENTFLAN_TEST_CHECKPOINT_DELAY_MS", "150");
        return pb.start();
    }
}
