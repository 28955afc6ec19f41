package org.agentflan.launch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.agentflan.launch.submit.ClusterShape;
import org.agentflan.launch.submit.KubernetesTarget;
import org.agentflan.launch.submit.SlurmTarget;
import org.agentflan.launch.submit.SubmitRequest;
import org.agentflan.launch.submit.SubmitTarget;
import org.agentflan.launch.submit.Submission;
import org.agentflan.trainer.StopReason;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code agentflan submit}: the data stage or training as a job on a cluster, or with --dry-run what it would submit. */
@Command(name = "submit",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Submits the data stage or a training run as a job to a cluster.",
        description = {
            "Submits the data stage or training to a cluster: spark-data (spark-submit of the data stage), spark (training",
            "as a Spark barrier stage, one task per rank), slurm (an sbatch job with srun, requeued and resumed after",
            "preemption), k8s (an indexed Job and a headless Service for kubectl apply). Writes the job's files to --out,",
            "then runs the submitting command there; --dry-run prints both and submits nothing."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan submit --target slurm --config configs/train/tiny.yaml \\",
            "      --nodes 2 --time 1:00:00 --dry-run",
            "  scripts/agentflan submit --target k8s --dry-run \\",
            "      --config configs/train/agent-flan-7b.yaml --job-name sft-7b \\",
            "      --image registry.example/agentflan:0.1 --volume agentflan-data:/data \\",
            "      --nodes 2 --gpus-per-node 8"})
public final class SubmitCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    /** The clusters {@code submit} knows; written on the command line as spark-data, spark, slurm, k8s. */
    enum Target {
        SPARK_DATA("spark-data"), SPARK("spark"), SLURM("slurm"), K8S("k8s");

        final String label;

        Target(String label) {
            this.label = label;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    /** Each target's renderer; a target is added here and nowhere else. */
    static Map<Target, SubmitTarget> targets() {
        Map<Target, SubmitTarget> t = new EnumMap<>(Target.class);
        t.put(Target.SLURM, new SlurmTarget());
        t.put(Target.K8S, new KubernetesTarget());
        t.put(Target.SPARK_DATA, new org.agentflan.launch.spark.SparkDataTarget(System.getenv()));
        t.put(Target.SPARK, new org.agentflan.launch.spark.SparkTrainTarget(System.getenv()));
        return t;
    }

    @Option(names = "--target", required = true, paramLabel = "TARGET", converter = TargetConverter.class,
            description = "where to submit: spark-data, spark, slurm or k8s")
    Target target;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "the recipe: a data config (configs/data/...) for spark-data, a train config otherwise")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (dotted, repeatable), passed on to the job")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--nodes", paramLabel = "N", defaultValue = "1", description = "machines (default: ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--ranks-per-node", paramLabel = "N", description = "training processes per machine (default: one per GPU, or 1)")
    Integer ranksPerNode;

    @Option(names = "--gpus-per-node", paramLabel = "N", defaultValue = "0", description = "GPUs per machine; 0 = CPU (default: ${DEFAULT-VALUE})")
    int gpusPerNode;

    @Option(names = "--partition", paramLabel = "NAME", description = "Slurm partition, YARN queue or Kubernetes namespace")
    String partition;

    @Option(names = "--time", paramLabel = "LIMIT", description = "wall-clock limit, Slurm's form (minutes, H:MM:SS, D-HH:MM:SS)")
    String time;

    @Option(names = "--image", paramLabel = "IMAGE", description = "container image with agentflan (k8s)")
    String image;

    @Option(names = "--volume", paramLabel = "CLAIM:PATH",
            description = "k8s: a ReadWriteMany PersistentVolumeClaim mounted at PATH in every pod; the job works in PATH,"
                    + " so run_dir (and relative data and model paths) live on it and survive a replaced pod")
    String volume;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master: local[*], spark://HOST:PORT, yarn or k8s://https://HOST:PORT")
    String master;

    @Option(names = "--job-name", paramLabel = "NAME", description = "the job's name on the scheduler (default: agentflan-TARGET)")
    String jobName;

    @Option(names = "--signal-lead", paramLabel = "SECONDS",
            description = "slurm: SIGUSR1 to every rank this long before --time runs out, to checkpoint and requeue"
                    + " (default: 300)")
    Integer signalLead;

    @Option(names = "--out", paramLabel = "DIR", description = "folder for the job's files (default: agentflan-submit/JOB-NAME)")
    Path out;

    @Option(names = "--dry-run", description = "print the files and the command, write and submit nothing")
    boolean dryRun;

    /** A job name is also the submit folder's name: letters, digits, '.', '_' and '-'. */
    private static final Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    @Override
    public Integer call() throws Exception {
        requireShape();
        SubmitTarget renderer = targets().get(target);
        if (renderer == null) {
            throw new UserError("submit --target " + target + " is not available in this build");
        }
        InputPaths.file("--config", config, "a recipe from configs/: configs/data/ for spark-data, configs/train/"
                + " for the others");
        String name = jobName != null ? jobName : "agentflan-" + target;
        ClusterShape shape = new ClusterShape(nodes, ranksPerNode, gpusPerNode, partition, parseTime(time), image, master,
                name, volume, signalLead == null ? null : Duration.ofSeconds(signalLead));
        Submission submission = renderer.render(new SubmitRequest(config.toAbsolutePath(), overrides, shape, projectRoot(),
                Main.verbose(spec)));
        Path folder = (out != null ? out : Path.of("agentflan-submit", name)).toAbsolutePath();
        if (dryRun) {
            print(submission, folder);
            return 0;
        }
        return submit(renderer, submission, folder);
    }

    /** What --dry-run shows: the folders, each file with its path, and the command. */
    private static void print(Submission submission, Path folder) {
        for (Path made : submission.folders()) {
            System.out.println("# would create " + made);
        }
        for (Map.Entry<String, String> file : submission.files().entrySet()) {
            System.out.println("# " + folder.resolve(file.getKey()));
            System.out.print(file.getValue());
            System.out.println();
        }
        System.out.println("# would run in " + folder + ":");
        System.out.println(String.join(" ", submission.command()));
    }

    /**
     * Creates the folders, writes the files into {@code folder}, runs the command there and prints the summary. Returns
     * the exit status: 0, or for a command that runs the training itself ({@link SubmitTarget#runsTheTraining()})
     * train's own statuses 1 (diverged) and 75 (preempted, checkpointed), so a scheduler around it can tell.
     */
    private static int submit(SubmitTarget renderer, Submission submission, Path folder)
            throws InterruptedException, IOException {
        try {
            for (Path made : submission.folders()) {
                Files.createDirectories(made);
            }
            Files.createDirectories(folder);
            for (Map.Entry<String, String> file : submission.files().entrySet()) {
                Files.writeString(folder.resolve(file.getKey()), file.getValue(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UserError("cannot write the job's files: " + IoFailure.describe(e), e);
        }
        String program = submission.command().get(0);
        Process process;
        try {
            // Its output goes to the console as it comes, and to the summary (sbatch prints the job id there).
            process = new ProcessBuilder(submission.command()).directory(folder.toFile())
                    .redirectInput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException e) {
            throw new UserError("cannot run " + program + " (" + IoFailure.describe(e) + "); the job's files are in "
                    + folder + ": submit from a machine where " + program + " is on the PATH", e);
        }
        StringBuilder output = new StringBuilder();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                System.out.println(line);
                output.append(line).append('\n');
            }
        }
        int status = process.waitFor();
        if (renderer.runsTheTraining() && (status == StopReason.EXIT_NON_FINITE || status == StopReason.EXIT_PREEMPTED)) {
            System.out.println(program + " ended with train's exit status " + status + " ("
                    + (status == StopReason.EXIT_PREEMPTED ? "preempted after a checkpoint; submit again to resume"
                    : "the run diverged; see its output above") + ")");
            return status;
        }
        if (status != 0) {
            throw new UserError(program + " exited with status " + status + "; its output is above,"
                    + " the job's files are in " + folder);
        }
        System.out.println(renderer.summary(submission, output.toString()));
        return 0;
    }

    /** The checks every target shares: a shape no cluster can have, and options of one target given to another. */
    private void requireShape() {
        if (nodes < 1) {
            throw new UserError("--nodes " + nodes + ": a job needs at least one machine; give --nodes 1 or more");
        }
        if (ranksPerNode != null && ranksPerNode < 1) {
            throw new UserError("--ranks-per-node " + ranksPerNode + ": each machine runs at least one rank; give 1 or"
                    + " more, or drop it for one per GPU");
        }
        if (gpusPerNode < 0) {
            throw new UserError("--gpus-per-node " + gpusPerNode + " is negative; give 0 for a CPU job, or the GPUs each"
                    + " machine has");
        }
        if (jobName != null && !JOB_NAME.matcher(jobName).matches()) {
            throw new UserError("--job-name '" + jobName + "' is also the submit folder's name: use up to 100 letters,"
                    + " digits, '.', '_' and '-', starting with a letter or digit");
        }
        if (signalLead != null && target != Target.SLURM) {
            throw new UserError("--signal-lead is Slurm's warning before the time limit; --target " + target
                    + " has none, drop it");
        }
    }

    /** Slurm's time forms: MM, MM:SS, H:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
    static Duration parseTime(String text) {
        if (text == null) {
            return null;
        }
        try {
            long days = 0;
            String rest = text;
            int dash = text.indexOf('-');
            if (dash >= 0) {
                days = Long.parseLong(text.substring(0, dash));
                rest = text.substring(dash + 1);
            }
            String[] parts = rest.split(":");
            long seconds;
            if (dash >= 0) {
                long h = Long.parseLong(parts[0]);
                long m = parts.length > 1 ? Long.parseLong(parts[1]) : 0;
                long s = parts.length > 2 ? Long.parseLong(parts[2]) : 0;
                if (parts.length > 3) throw new NumberFormatException();
                seconds = ((days * 24 + h) * 60 + m) * 60 + s;
            } else if (parts.length == 1) {
                seconds = Long.parseLong(parts[0]) * 60;
            } else if (parts.length == 2) {
                seconds = Long.parseLong(parts[0]) * 60 + Long.parseLong(parts[1]);
            } else if (parts.length == 3) {
                seconds = (Long.parseLong(parts[0]) * 60 + Long.parseLong(parts[1])) * 60 + Long.parseLong(parts[2]);
            } else {
                throw new NumberFormatException();
            }
            if (seconds <= 0) throw new NumberFormatException();
            return Duration.ofSeconds(seconds);
        } catch (NumberFormatException e) {
            throw new UserError("--time " + text + " is not a time limit; use minutes (90), H:MM:SS (1:30:00) or D-HH:MM:SS (2-00:00:00)");
        }
    }

    /** The checkout this command runs from: the folder above launch/target/, where scripts/agentflan lives. */
    static Path projectRoot() {
        try {
            Path jar = Path.of(SubmitCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // launch/target/classes or launch/target/agentflan.jar -> the checkout
            Path root = jar.getParent().getParent().getParent();
            return root.toAbsolutePath();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static final class TargetConverter implements picocli.CommandLine.ITypeConverter<Target> {
        @Override
        public Target convert(String value) {
            for (Target t : Target.values()) {
                if (t.label.equals(value)) return t;
            }
            throw new picocli.CommandLine.TypeConversionException("unknown target '" + value + "': use spark-data, spark, slurm or k8s");
        }
    }
}
