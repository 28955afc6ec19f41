package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code agentflan} CLI in a child JVM (this test's class path), its output in {@code log}: for tests that signal,
 * kill or starve a real process, which an in-process {@link CliRun} cannot.
 */
record ChildCli(Process process, Path log) {
    /** The java command line that runs the CLI with {@code args}; callers may put a wrapper in front. */
    static List<String> command(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return cmd;
    }

    static ChildCli start(Path log, List<String> args) throws Exception {
        return new ChildCli(new ProcessBuilder(command(args)).redirectErrorStream(true).redirectOutput(log.toFile()).start(), log);
    }

    /** Waits until the child prints a line starting with {@code prefix}; fails if it exits first or takes 3 minutes. */
    void awaitLine(String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            if (output().lines().anyMatch(l -> l.startsWith(prefix))) {
                return;
            }
            if (!process.isAlive()) {
                fail("the child exited (" + process.exitValue() + ") before printing '" + prefix + "'\n" + output());
            }
            Thread.sleep(20);
        }
        killAll();
        fail("no '" + prefix + "' from the child within 3 minutes\n" + output());
    }

    /** Waits for the child to exit (failing after {@code minutes}) and returns what it printed. */
    String finish(int minutes) throws Exception {
        if (!process.waitFor(minutes, TimeUnit.MINUTES)) {
            killAll();
            fail("the child did not exit within " + minutes + " minutes:\n" + output());
        }
        return output();
    }

    String output() throws Exception {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    private void killAll() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }
}
