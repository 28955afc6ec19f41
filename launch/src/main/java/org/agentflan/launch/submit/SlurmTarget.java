package org.agentflan.launch.submit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentflan.launch.UserError;
import org.agentflan.trainer.TrainConfig;

/**
 * {@code submit --target slurm}: training as an sbatch job whose one srun step starts a rank per task (nodes x ranks
 * per node), each reading its rank from Slurm's variables ({@code SlurmEnvironment}). The job survives the time limit
 * and preemption: Slurm sends SIGUSR1 to every rank {@code --signal-lead} seconds before the limit, and SIGTERM on a
 * requeue or a preemption; on either the ranks agree on a step, checkpoint it and exit 75. The script requeues a job
 * whose step ended with 75 ({@code scontrol requeue}); Slurm requeues a preempted one itself. The job then runs the
 * script again, and {@code train} resumes from the run's newest checkpoint.
 */
public final class SlurmTarget implements SubmitTarget {
    public static final Duration DEFAULT_SIGNAL_LEAD = Duration.ofMinutes(5);
    /**
     * What a time limit must leave besides the signal's lead: Slurm may send the signal up to 60 s before the time
     * asked for (its event loop's resolution, as its documentation says), and a job needs about a minute to start
     * (JVMs, the model, the ranks meeting) and train a step before it can checkpoint anything.
     */
    static final Duration MARGIN = Duration.ofMinutes(2);
    /** sbatch keeps a signal's lead in 16 bits. */
    static final long MAX_SIGNAL_LEAD_S = 65535;
    static final String SCRIPT = "job.sbatch";
    private static final String JOB_ID = "<job id>";
    private static final Pattern SUBMITTED = Pattern.compile("Submitted batch job (\\d+)");
    /** What sbatch reads from an {@code #SBATCH} line as one word: no blanks, quotes or backslashes. */
    private static final Pattern SBATCH_WORD = Pattern.compile("[^\\s'\"\\\\]+");
    /** Characters bash takes literally outside quotes. */
    private static final Pattern PLAIN_WORD = Pattern.compile("[A-Za-z0-9_./=:,+@%-]+");
    private static final Pattern PARTITION = Pattern.compile("[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*");

    @Override
    public Submission render(SubmitRequest request) {
        ClusterShape shape = request.shape();
        int ranksPerNode = refuseWhatSlurmCannotHonour(request);
        Duration lead = signalLead(shape);
        // The job starts in this folder, so that paths in the config resolve as they would for train run here.
        Path workDir = Path.of("").toAbsolutePath();
        TrainConfig config = TrainConfig.load(request.config(), request.overrides());
        Path runDir = workDir.resolve(config.runDir()).normalize();
        requireSbatchWord("the folder submit runs in", workDir);
        requireSbatchWord("run_dir", runDir);

        Map<String, String> files = new LinkedHashMap<>();
        files.put(SCRIPT, script(request, ranksPerNode, lead, workDir, runDir));
        String summary = "submitted Slurm job " + JOB_ID + " (" + shape.nodes() + " x " + ranksPerNode
                + " ranks); follow it with squeue -j " + JOB_ID + " and " + runDir + "/slurm-" + JOB_ID + ".out";
        return new Submission(files, List.of("sbatch", SCRIPT), summary, List.of(runDir));
    }

    /** Refuses the options Slurm has no use for and a shape it cannot run; returns the ranks per node. */
    private static int refuseWhatSlurmCannotHonour(SubmitRequest request) {
        ClusterShape shape = request.shape();
        if (shape.image() != null) {
            throw new UserError("--image " + shape.image() + " is for --target k8s: a Slurm job runs "
                    + agentflan(request) + " from this checkout on its nodes, which must see it on a shared filesystem;"
                    + " drop --image");
        }
        if (shape.master() != null) {
            throw new UserError("--master " + shape.master() + " is for the Spark targets: Slurm places the ranks"
                    + " itself; drop --master");
        }
        if (shape.volume() != null) {
            throw new UserError("--volume " + shape.volume() + " is for --target k8s: Slurm's nodes see the run folder on"
                    + " their shared filesystem; drop --volume");
        }
        int ranksPerNode = shape.ranksPerNode() != null ? shape.ranksPerNode() : Math.max(1, shape.gpusPerNode());
        if (shape.gpusPerNode() > 0 && ranksPerNode != shape.gpusPerNode()) {
            throw new UserError("--ranks-per-node " + ranksPerNode + " with --gpus-per-node " + shape.gpusPerNode()
                    + ": each rank trains on one GPU (its SLURM_LOCALID), so give as many ranks as GPUs per node, or drop"
                    + " --ranks-per-node");
        }
        if (shape.partition() != null && !PARTITION.matcher(shape.partition()).matches()) {
            throw new UserError("--partition '" + shape.partition() + "' is not a Slurm partition name (letters, digits,"
                    + " '.', '_', '-'; several separated by commas)");
        }
        return ranksPerNode;
    }

    /** {@code --signal-lead}, or the default, checked against sbatch's range and the time limit. */
    private static Duration signalLead(ClusterShape shape) {
        Duration lead = shape.signalLead() != null ? shape.signalLead() : DEFAULT_SIGNAL_LEAD;
        if (lead.toSeconds() < 1 || lead.toSeconds() > MAX_SIGNAL_LEAD_S) {
            throw new UserError("--signal-lead " + lead.toSeconds() + " is outside 1-" + MAX_SIGNAL_LEAD_S + " seconds,"
                    + " the range sbatch --signal takes; give the seconds a step and a checkpoint need, with room to spare");
        }
        if (shape.timeLimit() != null && shape.timeLimit().compareTo(lead.plus(MARGIN)) <= 0) {
            throw new UserError("--time " + slurmTime(shape.timeLimit()) + " leaves no time to train: the ranks are told"
                    + " to checkpoint --signal-lead " + lead.toSeconds() + " s before the limit, Slurm may tell them up to"
                    + " 60 s early, and a start takes about a minute; give a --time longer than " + slurmTime(lead.plus(MARGIN))
                    + ", or a shorter --signal-lead");
        }
        return lead;
    }

    /** job.sbatch: the directives, one srun step of ranks, and the requeue when they exit 75. */
    private static String script(SubmitRequest request, int ranksPerNode, Duration lead, Path workDir, Path runDir) {
        ClusterShape shape = request.shape();
        StringBuilder s = new StringBuilder();
        s.append("#!/bin/bash\n");
        s.append("# agentflan train as a Slurm job, written by agentflan submit --target slurm; sbatch ").append(SCRIPT)
                .append(" submits it.\n");
        s.append("#SBATCH --job-name=").append(shape.jobName()).append('\n');
        s.append("#SBATCH --nodes=").append(shape.nodes()).append('\n');
        s.append("#SBATCH --ntasks-per-node=").append(ranksPerNode).append('\n');
        if (shape.gpusPerNode() > 0) {
            s.append("#SBATCH --gpus-per-node=").append(shape.gpusPerNode()).append('\n');
        }
        if (shape.partition() != null) {
            s.append("#SBATCH --partition=").append(shape.partition()).append('\n');
        }
        if (shape.timeLimit() != null) {
            s.append("#SBATCH --time=").append(slurmTime(shape.timeLimit())).append('\n');
        }
        s.append("#SBATCH --chdir=").append(workDir).append('\n');
        // %j: one log per job id, which a requeued job keeps; append: each restart adds to it.
        s.append("#SBATCH --output=").append(runDir.toString().replace("%", "%%")).append("/slurm-%j.out\n");
        s.append("#SBATCH --open-mode=append\n");
        s.append("#SBATCH --requeue\n");
        s.append("#SBATCH --signal=USR1@").append(lead.toSeconds()).append('\n');
        s.append("#\n");
        s.append("# USR1 without B: Slurm sends it to every task of the srun step on every node; B: would reach only this\n");
        s.append("# shell, which runs no trap while srun runs. On USR1 (").append(lead.toSeconds())
                .append(" s before the time limit) or SIGTERM (a requeue or\n");
        s.append("# a preemption) the ranks agree on a step, checkpoint it and exit 75. A requeued job runs this script\n");
        s.append("# again, and train resumes from the run's newest checkpoint.\n");
        s.append("echo \"agentflan: job $SLURM_JOB_ID on $SLURM_JOB_NODELIST, restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%FT%TZ)\"\n");
        s.append("# --kill-on-bad-exit=0: a rank that exits 75 first must not get the others killed before they exit too.\n");
        s.append("# --label: each output line starts with its rank.\n");
        s.append("srun --kill-on-bad-exit=0 --label ").append(String.join(" ", quoted(trainCommand(request, runDir)))).append('\n');
        s.append("status=$?\n");
        s.append("if [ \"$status\" -eq 75 ]; then\n");
        s.append("  # Stopped by a signal before the last step, with a checkpoint. After SIGTERM Slurm has ended this\n");
        s.append("  # shell already and requeues the job itself; here it was USR1 (the time limit's warning, or\n");
        s.append("  # scancel --signal=USR1 JOBID to checkpoint and requeue now).\n");
        s.append("  echo \"agentflan: the ranks checkpointed and exited 75; requeueing job $SLURM_JOB_ID to resume\"\n");
        s.append("  scontrol requeue \"$SLURM_JOB_ID\" || echo \"agentflan: scontrol requeue failed; resubmit with sbatch ")
                .append(SCRIPT).append(" to resume\"\n");
        s.append("  exit 75\n");
        s.append("fi\n");
        s.append("exit \"$status\"\n");
        return s.toString();
    }

    /** Puts sbatch's job id ("Submitted batch job 42") into the summary. */
    @Override
    public String summary(Submission submission, String commandOutput) {
        Matcher id = SUBMITTED.matcher(commandOutput);
        return id.find() ? submission.summary().replace(JOB_ID, id.group(1)) : submission.summary();
    }

    private static List<String> trainCommand(SubmitRequest request, Path runDir) {
        List<String> cmd = new ArrayList<>(List.of(agentflan(request).toString(), "train", "--config",
                request.config().toString(), "--run-dir", runDir.toString()));
        for (String override : request.overrides()) {
            cmd.add("--set");
            cmd.add(override);
        }
        return cmd;
    }

    private static Path agentflan(SubmitRequest request) {
        return request.projectRoot().resolve("scripts/agentflan");
    }

    /** Words as bash reads them back unchanged: plain ones as they are, others in single quotes. */
    private static List<String> quoted(List<String> words) {
        return words.stream().map(w -> PLAIN_WORD.matcher(w).matches() ? w : "'" + w.replace("'", "'\\''") + "'").toList();
    }

    private static void requireSbatchWord(String what, Path path) {
        if (!SBATCH_WORD.matcher(path.toString()).matches()) {
            throw new UserError(what + " " + path + " has a blank, a quote or a backslash, which an #SBATCH line cannot"
                    + " carry; use a folder without them");
        }
    }

    /** Slurm's D-HH:MM:SS form. */
    static String slurmTime(Duration d) {
        long s = d.toSeconds();
        return String.format("%d-%02d:%02d:%02d", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    }
}
