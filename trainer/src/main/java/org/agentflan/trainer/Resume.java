package org.agentflan.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.TrainerState;

/**
 * Where a run starts: fresh ({@code from} and {@code state} null), or from a complete checkpoint and the trainer
 * state saved in it.
 */
record Resume(Path from, TrainerState state) {
    static final Resume FRESH = new Resume(null, null);

    /**
     * The start {@code --resume} asks for: null resumes from the run's newest complete checkpoint if there is one,
     * "none" starts fresh, anything else names a checkpoint folder. A checkpoint is accepted only if the config
     * equals the one it was trained with ({@link ResumePolicy#requireSameRun}).
     */
    static Resume find(String option, CheckpointManager checkpoints, TrainConfig cfg, PrintStream console)
            throws IOException {
        Path from = target(option, checkpoints);
        Resume resume = FRESH;
        if (from != null) {
            resume = new Resume(from, TrainerState.read(from));
            ResumePolicy.requireSameRun(cfg, resume.state(), from);
            console.println("resuming from " + from + " (step " + resume.step() + ")");
        }
        long step = resume.step();
        if (checkpoints.completeCheckpoints().stream().anyMatch(p -> CheckpointManager.stepOf(p) > step)) {
            console.println("warning: " + checkpoints.root() + " holds checkpoints past step " + step + " from an"
                    + " earlier run; they are replaced as this run reaches their steps (use another --run-dir to keep them)");
        }
        return resume;
    }

    boolean isFresh() {
        return from == null;
    }

    /** The step the run starts after: 0 when fresh. */
    long step() {
        return isFresh() ? 0 : state.step();
    }

    private static Path target(String option, CheckpointManager checkpoints) throws IOException {
        if ("none".equals(option)) {
            return null;
        }
        if (option == null) {
            return checkpoints.latestComplete().orElse(null);
        }
        Path dir = Path.of(option);
        if (!CheckpointManager.isComplete(dir)) {
            throw new TrainException("--resume " + option + ": not a complete checkpoint (no " + CheckpointManager.MARKER
                    + " marker); pass a checkpoints/step_NNNNNNNN folder, or --resume none");
        }
        return dir;
    }
}
