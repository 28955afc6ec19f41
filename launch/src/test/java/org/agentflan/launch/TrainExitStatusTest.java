package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code agentflan train}'s exit status as a scheduler or a shell sees it, on data {@code prepare} made from the
 * bundled sample: 75 after a real SIGTERM or SIGHUP (checkpointed, resumable), 1 for a run whose weights went
 * non-finite, 2 with one {@code error:} line for a damaged shard, a run folder that is a file, or a full disk; the
 * signal and disk cases run the real CLI in a child JVM.
 */
class TrainExitStatusTest {
    private static final Path ROOT = PreparedSample.ROOT;
    private static final Path TOKENIZER = PreparedSample.TOKENIZER;
    @TempDir static Path shared;
    static Path data;
    @TempDir Path tmp;

    @BeforeAll
    static void prepareTheSample() throws Exception {
        data = PreparedSample.into(shared);
    }

    /** The tiny recipe on the prepared data, in {@code run}, with more arguments. */
    private static List<String> train(Path run, Path dataDir, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--config", ROOT.resolve("configs/train/tiny.yaml").toString(),
                "--run-dir", run.toString(), "--set", "data.dirs=[" + dataDir + "]", "--set", "model.tokenizer_dir=" + TOKENIZER,
                "--set", "data.seq_len=128", "--set", "log.every=1"));
        args.addAll(Arrays.asList(more));
        return args;
    }

    /**
     * A long run receives the signal while it trains: it finishes that step, checkpoints it, says how to resume and
     * exits 75; the same command then resumes from that checkpoint.
     */
    @ParameterizedTest
    @ValueSource(strings = {"TERM", "HUP"})
    void aSignalCheckpointsAndExits75(String signal) throws Exception {
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("child.log");
        ChildCli cli = ChildCli.start(log, train(run, data, "--max-steps", "100000", "--set", "checkpoint.every=0"));
        Process child = cli.process();
        cli.awaitLine("step 2/100000");
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid())).inheritIO().start();
        assertEquals(0, kill.waitFor());
        assertTrue(child.waitFor(2, TimeUnit.MINUTES), "train did not exit after SIG" + signal);
        String out = Files.readString(log);
        assertEquals(75, child.exitValue(), out);
        Matcher stopped = Pattern.compile("signal_" + signal.toLowerCase(java.util.Locale.ROOT) + " at step (\\d+)/100000")
                .matcher(out);
        assertTrue(stopped.find(), out);
        Path checkpoint = run.resolve("checkpoints").resolve(CheckpointManager.dirName(Long.parseLong(stopped.group(1))));
        assertTrue(out.contains("preempted (signal_" + signal.toLowerCase(java.util.Locale.ROOT) + "): exit status 75;"
                + " the same command resumes from " + checkpoint), out);
        assertTrue(CheckpointManager.isComplete(checkpoint), out);

        CliRun resumed = CliRun.of(train(run, data, "--max-steps", "100000", "--set", "checkpoint.every=0",
                "--stop-at-step", Long.toString(Long.parseLong(stopped.group(1)) + 1)).toArray(String[]::new));
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("resuming from " + checkpoint), resumed.out());
    }

    @Test
    void divergedWeightsExit1NamingTheStep() {
        CliRun run = CliRun.of(train(tmp.resolve("run"), data, "--max-steps", "3", "--set", "optimizer.lr=1e38",
                "--set", "schedule.kind=constant", "--set", "schedule.warmup_steps=0").toArray(String[]::new));
        assertEquals(1, run.code(), run.out() + run.err());
        assertTrue(run.out().contains("error: step 1 left weight '"), run.out());
        assertTrue(run.out().contains("non_finite at step 1/3"), run.out());
    }

    @Test
    void aDamagedShardExits2InOneLineNamingIt() throws Exception {
        Path copy = tmp.resolve("data");
        try (Stream<Path> walk = Files.walk(data)) {
            for (Path p : walk.toList()) {
                Path target = copy.resolve(data.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        Path shard;
        try (Stream<Path> shards = Files.list(copy.resolve("shards"))) {
            shard = shards.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().findFirst().orElseThrow();
        }
        Files.write(shard, Arrays.copyOf(Files.readAllBytes(shard), (int) Files.size(shard) / 2));
        CliRun run = CliRun.of(train(tmp.resolve("run"), copy, "--max-steps", "1").toArray(String[]::new));
        assertOneLineError(run, "error: " + shard + ": not a readable Parquet shard, truncated or corrupt (");
    }

    @Test
    void aRunFolderThatIsAFileExits2InOneLine() throws Exception {
        Path file = Files.writeString(tmp.resolve("run"), "x");
        CliRun run = CliRun.of(train(file, data, "--max-steps", "1").toArray(String[]::new));
        assertOneLineError(run, "error: run_dir " + file + " is a file, not a folder; pick another --run-dir");
    }

    /** The run folder on an 80 MB tmpfs (a child in its own user and mount namespace): the second checkpoint does not fit. */
    @Test
    void aFullDiskExits2InOneLineAndKeepsThePreviousCheckpoint() throws Exception {
        assumeTrue(canMountTmpfs(), "skipped: 'unshare -rm' cannot mount a tmpfs here (user namespaces not allowed)");
        Path disk = Files.createDirectories(tmp.resolve("small-disk"));
        Path after = Files.createDirectories(tmp.resolve("after"));
        Path log = tmp.resolve("child.log");
        List<String> cmd = new ArrayList<>(List.of("unshare", "-rm", "sh", "-c",
                "mount -t tmpfs -o size=80m none \"$1\" || exit 99; disk=\"$1\"; after=\"$2\"; shift 2; \"$@\";"
                        + " status=$?; cp -a \"$disk/.\" \"$after/\"; exit $status",
                "sh", disk.toString(), after.toString()));
        cmd.addAll(ChildCli.command(train(disk.resolve("run"), data, "--max-steps", "4", "--set", "checkpoint.every=1")));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(child.waitFor(3, TimeUnit.MINUTES), "train did not finish");
        String out = Files.readString(log);
        assertEquals(2, child.exitValue(), out);
        List<String> errors = out.lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(List.of("error: cannot save checkpoint 2 in " + disk.resolve("run/checkpoints")
                + " (No space left on device); the previous checkpoint is intact"), errors, out);
        assertFalse(out.contains("\tat "), "no stack trace\n" + out);
        assertEquals(CheckpointManager.dirName(1),
                Files.readString(after.resolve("run/checkpoints").resolve(CheckpointManager.LATEST)).trim(), out);
        assertTrue(CheckpointManager.isComplete(after.resolve("run/checkpoints").resolve(CheckpointManager.dirName(1))));
    }

    @Test
    void helpListsTheExitStatuses() {
        String help = Main.commandLine().getSubcommands().get("train").getUsageMessage();
        assertTrue(help.contains("75   preempted by SIGTERM, SIGINT, SIGHUP or SIGUSR1 after checkpointing"), help);
        assertTrue(help.contains(" 1   the run diverged"), help);
    }

    private static void assertOneLineError(CliRun run, String prefix) {
        assertEquals(2, run.code(), run.out() + run.err());
        assertTrue(run.err().startsWith(prefix), "expected '" + prefix + "...', got: " + run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());
    }

    /** The launch CLI in a child JVM with this test's classpath. */

    private static boolean canMountTmpfs() throws Exception {
        try {
            Process p = new ProcessBuilder("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt || mount -t"
                    + " tmpfs -o size=1m none /tmp").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            return false; // no unshare
        }
    }
}
