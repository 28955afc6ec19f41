package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code submit --target slurm --dry-run}: the sbatch script it prints, line by line, which bash reads back to the
 * exact words of the train command; and every option it cannot honour, refused with the option named and nothing
 * written. SlurmTrainIT runs such a script on a real cluster.
 */
class SubmitSlurmTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path CONFIG = ROOT.resolve("configs/train/tiny.yaml");
    private static final Path AGENTFLAN = ROOT.resolve("scripts/agentflan");
    @TempDir Path tmp;

    private CliRun submit(String... more) {
        List<String> args = new ArrayList<>(List.of("submit", "--target", "slurm", "--config", CONFIG.toString(),
                "--out", tmp.resolve("out").toString(), "--set", "run_dir=" + tmp.resolve("run"), "--dry-run"));
        args.addAll(List.of(more));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void theScriptHasTheShapeTheSignalTheRequeueAndTheTrainCommand() throws Exception {
        Path run = tmp.resolve("run");
        CliRun dry = submit("--job-name", "af-7b", "--nodes", "2", "--gpus-per-node", "4", "--partition", "gpu",
                "--time", "1-12:00:00", "--signal-lead", "600", "--set", "data.dirs=[/data/a b, /data/c]",
                "--set", "optimizer.lr=1e-5");
        assertEquals(0, dry.code(), dry.out() + dry.err());
        List<String> lines = dry.out().lines().toList();
        List<String> expected = List.of(
                "# would create " + run,
                "# " + tmp.resolve("out/job.sbatch"),
                "#!/bin/bash",
                "#SBATCH --job-name=af-7b",
                "#SBATCH --nodes=2",
                "#SBATCH --ntasks-per-node=4",
                "#SBATCH --gpus-per-node=4",
                "#SBATCH --partition=gpu",
                "#SBATCH --time=1-12:00:00",
                "#SBATCH --chdir=" + Path.of("").toAbsolutePath(),
                "#SBATCH --output=" + run + "/slurm-%j.out",
                "#SBATCH --open-mode=append",
                "#SBATCH --requeue",
                "#SBATCH --signal=USR1@600",
                "srun --kill-on-bad-exit=0 --label " + AGENTFLAN + " train --config " + CONFIG + " --run-dir " + run
                        + " --set run_dir=" + run + " --set 'data.dirs=[/data/a b, /data/c]' --set optimizer.lr=1e-5",
                "if [ \"$status\" -eq 75 ]; then",
                "  scontrol requeue \"$SLURM_JOB_ID\" || echo \"agentflan: scontrol requeue failed; resubmit with sbatch"
                        + " job.sbatch to resume\"",
                "# would run in " + tmp.resolve("out") + ":",
                "sbatch job.sbatch");
        for (String line : expected) {
            assertTrue(lines.contains(line), "missing line '" + line + "' in:\n" + dry.out());
        }
        // Every #SBATCH line comes before the first command: sbatch reads none after it.
        int lastDirective = 0;
        int firstCommand = lines.size();
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith("#SBATCH")) lastDirective = Math.max(lastDirective, i);
            if (!lines.get(i).isBlank() && !lines.get(i).startsWith("#")) firstCommand = i;
        }
        assertTrue(lastDirective < firstCommand, dry.out());
        assertFalse(Files.exists(tmp.resolve("out")), "a dry run writes nothing");
        assertFalse(Files.exists(run), "a dry run creates nothing");

        // bash reads the script without a syntax error, and the srun line back to the words submit was given.
        String script = dry.out().substring(dry.out().indexOf("#!/bin/bash"), dry.out().indexOf("# would run in"));
        assertEquals("", bash("-n", "-c", script));
        String srun = lines.stream().filter(l -> l.startsWith("srun ")).findFirst().orElseThrow();
        assertEquals(List.of(AGENTFLAN.toString(), "train", "--config", CONFIG.toString(), "--run-dir", run.toString(),
                "--set", "run_dir=" + run, "--set", "data.dirs=[/data/a b, /data/c]", "--set", "optimizer.lr=1e-5"),
                bash("-c", srun.replace("srun --kill-on-bad-exit=0 --label ", "printf '%s\\n' ")).lines().toList());
    }

    @Test
    void withoutShapeOptionsItIsOneRankOnOneCpuNodeWarnedFiveMinutesAhead() {
        CliRun dry = submit();
        assertEquals(0, dry.code(), dry.out() + dry.err());
        List<String> lines = dry.out().lines().toList();
        assertTrue(lines.contains("#SBATCH --job-name=agentflan-slurm"), dry.out());
        assertTrue(lines.contains("#SBATCH --nodes=1"), dry.out());
        assertTrue(lines.contains("#SBATCH --ntasks-per-node=1"), dry.out());
        assertTrue(lines.contains("#SBATCH --signal=USR1@300"), dry.out());
        for (String absent : List.of("--gpus-per-node", "--partition", "--time")) {
            assertTrue(lines.stream().noneMatch(l -> l.startsWith("#SBATCH " + absent)), absent + " in:\n" + dry.out());
        }
    }

    @Test
    void aTimeLimitJustLongerThanTheLeadAndItsMarginIsTaken() {
        // 300 s of lead + 120 s of margin = 7 minutes: 8 is the shortest whole-minute limit taken.
        assertEquals(0, submit("--time", "8").code());
        CliRun bad = submit("--time", "7");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("error: --time 0-00:07:00 leaves no time to train: the ranks are told to checkpoint"
                + " --signal-lead 300 s before the limit, Slurm may tell them up to 60 s early, and a start takes about a"
                + " minute; give a --time longer than 0-00:07:00, or a shorter --signal-lead"), bad.err());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--image;ghcr.io/x/agentflan:1               | --image ghcr.io/x/agentflan:1 is for --target k8s",
        "--master;spark://h:7077                     | --master spark://h:7077 is for the Spark targets",
        "--volume;data:/data                         | --volume data:/data is for --target k8s",
        "--nodes;0                                   | --nodes 0: a job needs at least one machine",
        "--ranks-per-node;0                          | --ranks-per-node 0: each machine runs at least one rank",
        "--gpus-per-node;-1                          | --gpus-per-node -1 is negative",
        "--gpus-per-node;4;--ranks-per-node;2        | --ranks-per-node 2 with --gpus-per-node 4: each rank trains on one GPU",
        "--signal-lead;0                             | --signal-lead 0 is outside 1-65535 seconds",
        "--signal-lead;70000                         | --signal-lead 70000 is outside 1-65535 seconds",
        "--time;3;--signal-lead;60                   | --time 0-00:03:00 leaves no time to train",
        "--time;2h                                   | --time 2h is not a time limit",
        "--partition;gpu a                           | --partition 'gpu a' is not a Slurm partition name",
        "--job-name;my job                           | --job-name 'my job' is also the submit folder's name",
        "--set;run_dir=/tmp/my run                   | run_dir /tmp/my run has a blank",
        "--set;optimizer.lr=-1                       | --set optimizer.lr=-1: optimizer.lr must be > 0",
    })
    void anOptionItCannotHonourIsRefusedByName(String options, String message) {
        CliRun bad = submit(options.split(";"));
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().startsWith("error: ") && bad.err().contains(message), bad.err());
        assertFalse(Files.exists(tmp.resolve("out")), "nothing is written");
    }

    @Test
    void signalLeadIsRefusedForATargetWithoutOne() {
        CliRun bad = CliRun.of("submit", "--target", "k8s", "--config", CONFIG.toString(), "--image", "agentflan:1",
                "--volume", "data:/data", "--signal-lead", "60", "--dry-run");
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("--signal-lead is Slurm's warning before the time limit; --target k8s has none"), bad.err());
    }

    @Test
    void withoutSbatchTheFilesAreWrittenAndTheErrorSaysWhereToSubmitFrom() throws Exception {
        Path emptyPath = Files.createDirectory(tmp.resolve("bin"));
        ProcessBuilder pb = new ProcessBuilder(ChildCli.command(List.of("submit", "--target", "slurm",
                "--config", CONFIG.toString(), "--out", tmp.resolve("out").toString(), "--set", "run_dir=" + tmp.resolve("run"))))
                .redirectErrorStream(true);
        pb.environment().put("PATH", emptyPath.toString()); // no sbatch here
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(2, p.waitFor(), out);
        assertTrue(out.contains("error: cannot run sbatch (Cannot run program \"sbatch\""), out);
        assertTrue(out.contains("the job's files are in " + tmp.resolve("out") + ": submit from a machine where sbatch is"
                + " on the PATH"), out);
        assertTrue(Files.readString(tmp.resolve("out/job.sbatch")).startsWith("#!/bin/bash\n"), out);
        assertTrue(Files.isDirectory(tmp.resolve("run")), "the log's folder is made before sbatch runs");
    }

    private static String bash(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
