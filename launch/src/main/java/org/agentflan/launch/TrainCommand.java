package org.agentflan.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.agentflan.trainer.Train;
import org.agentflan.trainer.TrainException;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.distributed.DistributedException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code agentflan train}: full-parameter SFT with checkpoints and exact resume. */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Fine-tunes Llama-2 on prepared shards, with resumable checkpoints.",
        description = {
            "Fine-tunes Llama-2 on prepared shards: packed rows, gradient accumulation, AdamW, warm-up + cosine LR,",
            "checkpoints in HF layout under <run-dir>/checkpoints/step_NNNNNNNN/, metrics.jsonl and loss.png.",
            "Resumes from the newest intact checkpoint of <run-dir>/checkpoints (falling back past a damaged one).",
            "SIGTERM, SIGINT, SIGHUP and SIGUSR1 (Slurm's warning before the time limit): finish the step, checkpoint, exit 75.",
            "Data parallel: processes given torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT train as one;",
            "--nproc N starts N such processes on this machine."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            " 0:finished: every step ran, or --stop-at-step was reached (checkpointed)",
            " 1:the run diverged: non-finite weights, or nan.max_consecutive non-finite steps in a row",
            " 2:nothing trained or the run failed: bad config, data, files or disk (one 'error:' line); a rank was lost;"
                    + " with --nproc, the ranks ended differently (the rank that failed first is named)",
            "75:preempted by SIGTERM, SIGINT, SIGHUP or SIGUSR1 after checkpointing; run the same command to resume"},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan train --config configs/train/tiny.yaml --stop-at-step 20",
            "  scripts/agentflan train --config configs/train/tiny.yaml   # resumes at 20",
            "  scripts/agentflan train --nproc 2 --config configs/train/tiny.yaml \\",
            "      --set threads=1"})
public final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "train recipe (YAML), e.g. configs/train/tiny.yaml")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (dotted, repeatable), e.g. --set optimizer.lr=1e-5")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--run-dir", paramLabel = "DIR", description = "run folder (overrides run_dir)")
    Path runDir;

    @Option(names = "--max-steps", paramLabel = "N", description = "total optimizer steps (overrides max_steps; the LR schedule spans them)")
    Long maxSteps;

    @Option(names = "--resume", paramLabel = "PATH|none",
            description = "checkpoint folder to resume from, or 'none' to start fresh (default: the run's latest, if any)")
    String resume;

    @Option(names = "--stop-at-step", paramLabel = "N",
            description = "checkpoint and exit after step N without changing the schedule (for time-limited job slots)")
    Long stopAtStep;

    @Option(names = "--nproc", paramLabel = "N",
            description = "train with N processes on this machine, as torchrun --nproc_per_node N does: ranks on 127.0.0.1,"
                    + " output lines prefixed [rank k], rank k on GPU k when there are GPUs; signals go to every rank")
    Integer nproc;

    @Override
    public Integer call() throws Exception {
        InputPaths.file("--config", config, "a train recipe, e.g. configs/train/tiny.yaml");
        if (nproc != null) {
            return LocalRanks.run(nproc, rankArguments(), System.out, System.err);
        }
        LauncherWatch.install(System.getenv());
        Train.Result result;
        try {
            result = Train.run(new Train.Options(config, overrides, runDir, maxSteps, resume, stopAtStep), System.out);
        } catch (TrainException | DataException | DistributedException e) {
            throw new UserError(e.getMessage(), e);
        } catch (IOException e) {
            throw new UserError(IoFailure.describe(e), e);
        } catch (UncheckedIOException e) {
            throw new UserError(IoFailure.describe(e), e);
        }
        if (result.stopReason().isSignal()) {
            System.out.println("preempted (" + result.stopReason() + "): exit status " + result.stopReason().exitCode()
                    + (result.lastCheckpoint() == null ? "; nothing was trained, the same command starts the run"
                    : "; the same command resumes from " + result.lastCheckpoint()));
        }
        return result.stopReason().exitCode();
    }

    /** This command's arguments less {@code --nproc}, and {@code --verbose} if given: what each rank runs. */
    private List<String> rankArguments() {
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        for (String override : overrides) {
            args.addAll(List.of("--set", override));
        }
        if (runDir != null) args.addAll(List.of("--run-dir", runDir.toString()));
        if (maxSteps != null) args.addAll(List.of("--max-steps", maxSteps.toString()));
        if (resume != null) args.addAll(List.of("--resume", resume));
        if (stopAtStep != null) args.addAll(List.of("--stop-at-step", stopAtStep.toString()));
        if (Main.verbose(spec)) args.add("--verbose");
        return args;
    }
}
