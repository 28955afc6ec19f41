package org.agentflan.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.agentflan.trainer.StopReason;
import org.agentflan.trainer.Train;
import org.agentflan.trainer.TrainException;
import org.agentflan.trainer.data.DataException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan train}: full-parameter SFT with checkpoints and exact resume. */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tunes Llama-2 on prepared shards: packed rows, gradient accumulation, AdamW, warm-up + cosine LR,",
            "checkpoints in HF layout under <run-dir>/checkpoints/step_NNNNNNNN/, metrics.jsonl and loss.png.",
            "Resumes from <run-dir>/checkpoints/latest when present. SIGTERM/SIGINT: finish the step, checkpoint, exit."})
public final class TrainCommand implements Callable<Integer> {
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

    @Override
    public Integer call() throws Exception {
        Train.Result result;
        try {
            result = Train.run(new Train.Options(config, overrides, runDir, maxSteps, resume, stopAtStep), System.out);
        } catch (TrainException | DataException e) {
            throw new UserError(e.getMessage(), e);
        }
        return result.stopReason() == StopReason.NON_FINITE ? 1 : 0;
    }
}
