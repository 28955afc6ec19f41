package org.agentflan.trainer;

import static org.agentflan.trainer.TrainChildMain.awaitLine;
import static org.agentflan.trainer.TrainChildMain.release;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.OutputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The signals a scheduler or a closing session sends, as real signals ({@code kill -TERM|-INT|-HUP|-USR1 <pid>}) to a
 * child JVM paused inside step 2 of 6 (no checkpoint on cadence): it finishes the step, writes checkpoint 2, and exits
 * with status 75 (preempted), which differs from a finished run's 0; a restart resumes from checkpoint 2.
 */
class TrainSignalTest {
    @TempDir Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"TERM", "INT", "HUP", "USR1"})
    void aSignalInsideAStepCheckpointsItAndExitsPreempted(String signal) throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("child.log");
        String[] overrides = {"max_steps=6", "checkpoint.every=0"};
        Process child = TrainChildMain.start(run, data, log, "--pause-at", "step:2", overrides[0], overrides[1]);
        awaitLine(child, log, "PAUSED at step:2");
        assumeTrue(catches(child.pid(), signal), "skipped: SIG" + signal + " is ignored by this test's child (it was"
                + " started with the signal ignored, e.g. as a background job of a non-interactive shell), so no JVM can"
                + " catch it here");

        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
        awaitLine(child, log, "received SIG" + signal);
        release(child); // let the paused step finish
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "trainer did not exit after SIG" + signal);
        String out = Files.readString(log);
        assertEquals(StopReason.EXIT_PREEMPTED, child.exitValue(), out);
        assertTrue(out.contains("child finished: signal_" + signal.toLowerCase(java.util.Locale.ROOT) + " at step 2"), out);
        CheckpointManager checkpoints = new CheckpointManager(run, 2, SaveObserver.NONE);
        assertEquals(CheckpointManager.dirName(2), checkpoints.latestComplete().orElseThrow().getFileName().toString(), out);

        Train.Result resumed = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, overrides), run, null, null, null),
                new java.io.PrintStream(OutputStream.nullOutputStream()));
        assertEquals(2, resumed.startStep());
        assertEquals(StopReason.COMPLETED, resumed.stopReason());
        assertEquals(0, resumed.stopReason().exitCode());
    }

    /** Whether process {@code pid} has a handler for the signal (bit signo-1 of SigCgt in /proc/pid/status). */
    private static boolean catches(long pid, String signal) throws Exception {
        int number = switch (signal) {
            case "HUP" -> 1;
            case "INT" -> 2;
            case "USR1" -> 10;
            case "TERM" -> 15;
            default -> throw new IllegalArgumentException(signal);
        };
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("SigCgt:")) {
                return new BigInteger(line.substring("SigCgt:".length()).trim(), 16).testBit(number - 1);
            }
        }
        return false;
    }
}
