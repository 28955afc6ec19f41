package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.distributed.DistributedException;
import org.agentflan.trainer.model.LlamaModel;

/**
 * Entry point of the child JVM the crash and multi-rank tests start:
 * {@code <run-dir> <data-dir> [--pause-at EVENT] [--stop-at-step K] [overrides...]}, over
 * {@link TrainFixtures#tinyRun}. The rank, if any, comes from torchrun's variables in the environment. At
 * {@code EVENT} the child prints {@code PAUSED at EVENT} and blocks until a line arrives on its stdin, so the test
 * can kill it (or signal it) at exactly that point:
 * <ul>
 *   <li>{@code file:K:N} -- the N-th file of the step-K checkpoint is in place in its temporary folder, the next not begun;
 *   <li>{@code rename:K} -- the step-K checkpoint is complete, marker included, in its temporary folder, which is not
 *       yet renamed into place;
 *   <li>{@code placed:K} -- the step-K folder is in place, but {@code latest} still names the previous checkpoint;
 *   <li>{@code step:K} -- inside step K, after its optimizer update, before its metrics line and any checkpoint.
 * </ul>
 * A {@link TrainException} or {@link DistributedException} prints {@code error: message} and exits 2, as the CLI does.
 */
public final class TrainChildMain {
    private TrainChildMain() {}

    public static void main(String[] args) throws Exception {
        List<String> overrides = new ArrayList<>(List.of(args).subList(2, args.length));
        Train.StepHook steps = (step, model) -> { };
        SaveObserver saves = SaveObserver.NONE;
        Long stopAtStep = null;
        while (!overrides.isEmpty() && overrides.get(0).startsWith("--")) {
            String option = overrides.get(0);
            String value = overrides.get(1);
            overrides = overrides.subList(2, overrides.size());
            switch (option) {
                case "--pause-at" -> {
                    Pause pause = new Pause(value);
                    steps = pause;
                    saves = pause;
                }
                case "--stop-at-step" -> stopAtStep = Long.parseLong(value);
                default -> throw new IllegalArgumentException("unknown option " + option);
            }
        }
        Train.Result r;
        try {
            r = Train.run(new Train.Options(null, TrainFixtures.tinyRun(Path.of(args[1]), overrides.toArray(String[]::new)),
                    Path.of(args[0]), null, null, stopAtStep), System.out, steps, saves);
        } catch (TrainException | DistributedException e) {
            System.out.println("error: " + e.getMessage());
            System.out.flush();
            System.exit(2);
            return;
        }
        System.out.println("child finished: " + r.stopReason() + " at step " + r.endStep());
        System.exit(r.stopReason().exitCode()); // as agentflan train exits
    }

    /** The command line of a child JVM running this class on {@code run} with the test's classpath. */
    static List<String> command(Path run, Path data, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), TrainChildMain.class.getName(), run.toString(), data.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts {@link #command} as a child JVM; its stdout and stderr go to {@code log}. */
    static Process start(Path run, Path data, Path log, String... args) throws IOException {
        return new ProcessBuilder(command(run, data, args)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** Waits (3 minutes at most) until the child's log has a line starting with {@code prefix}; fails if it exits first. */
    static void awaitLine(Process child, Path log, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (text.lines().anyMatch(l -> l.startsWith(prefix))) {
                return;
            }
            if (!child.isAlive()) {
                fail("the child exited (" + child.exitValue() + ") before printing '" + prefix + "'\n" + text);
            }
            Thread.sleep(20);
        }
        child.destroyForcibly();
        fail("no '" + prefix + "' from the child within 3 minutes\n" + Files.readString(log));
    }

    /** Lets a child paused by {@code --pause-at} go on. */
    static void release(Process child) throws IOException {
        try (OutputStream in = child.getOutputStream()) {
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Watches the run's steps and saves, and blocks at the one event it was given. */
    static final class Pause implements SaveObserver, Train.StepHook {
        /** CheckpointManager writes step K into {@code .tmp-step_K} and renames it to {@code step_K} when complete. */
        static final String TEMP_PREFIX = ".tmp-";

        private final String event;
        private final String kind;
        private final long step;
        private final int fileNumber;
        private int filesInPlace;

        Pause(String event) {
            String[] parts = event.split(":");
            this.event = event;
            this.kind = parts[0];
            if (parts.length != (kind.equals("file") ? 3 : 2) || !List.of("file", "rename", "placed", "step").contains(kind)) {
                throw new IllegalArgumentException("--pause-at " + event + ": expected file:K:N, rename:K, placed:K or step:K");
            }
            this.step = Long.parseLong(parts[1]);
            this.fileNumber = kind.equals("file") ? Integer.parseInt(parts[2]) : 0;
        }

        @Override
        public void reached(Point point, Path path) throws IOException {
            boolean inTemporaryFolder = isInside(path, TEMP_PREFIX + CheckpointManager.dirName(step));
            boolean hit = switch (kind) {
                case "file" -> point == Point.FILE_IN_PLACE && inTemporaryFolder && ++filesInPlace == fileNumber;
                case "rename" -> point == Point.FILE_IN_PLACE && inTemporaryFolder
                        && path.getFileName().toString().equals(CheckpointManager.MARKER);
                case "placed" -> point == Point.CHECKPOINT_IN_PLACE
                        && path.getFileName().toString().equals(CheckpointManager.dirName(step));
                default -> false;
            };
            if (hit) {
                block();
            }
        }

        @Override
        public void afterStep(long done, LlamaModel model) {
            if (kind.equals("step") && done == step) {
                block();
            }
        }

        private void block() {
            System.out.println("PAUSED at " + event);
            System.out.flush();
            try {
                System.in.read();
            } catch (IOException e) {
                throw new IllegalStateException("stdin of the paused child failed", e);
            }
        }

        private static boolean isInside(Path path, String folderName) {
            for (Path part : path) {
                if (part.toString().equals(folderName)) {
                    return true;
                }
            }
            return false;
        }
    }
}
