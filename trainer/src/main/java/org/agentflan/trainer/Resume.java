package org.agentflan.trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.checkpoint.CheckpointFormatException;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.MasterWeights;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.model.LlamaConfig;

/**
 * Where a run starts: fresh ({@code from} and {@code state} null), or from a complete checkpoint and the trainer
 * state saved in it.
 */
record Resume(Path from, TrainerState state) {
    static final Resume FRESH = new Resume(null, null);

    /**
     * The start {@code --resume} asks for: null resumes from the run's newest complete checkpoint that is intact
     * (falling back past damaged ones, saying so), "none" starts fresh, anything else names a checkpoint folder, which
     * must be intact. A checkpoint is accepted only if the config equals the one it was trained with and this run's
     * {@code worldSize} ranks keep its global batch
     * ({@link ResumePolicy#requireSameRun}).
     */
    static Resume find(String option, CheckpointManager checkpoints, TrainConfig cfg, int worldSize, PrintStream console)
            throws IOException {
        Resume resume = "none".equals(option) ? FRESH
                : option == null ? newestIntact(checkpoints, console) : named(Path.of(option));
        if (!resume.isFresh()) {
            ResumePolicy.requireSameRun(cfg, worldSize, resume.state(), resume.from());
            console.println("resuming from " + resume.from() + " (step " + resume.step() + ")");
            warnIfRounded(resume.from(), console);
        }
        long step = resume.step();
        if (checkpoints.completeCheckpoints().stream().anyMatch(p -> CheckpointManager.stepOf(p) > step)) {
            console.println("warning: " + checkpoints.root() + " holds checkpoints past step " + step + " (from an"
                    + " earlier run, or damaged); they are replaced as this run reaches their steps (use another --run-dir"
                    + " to keep them)");
        }
        return resume;
    }

    /**
     * A checkpoint written in 16 bits before checkpoints kept fp32 master weights resumes from rounded weights: the
     * run goes on, but not exactly as it would have, and the user is told so.
     */
    private static void warnIfRounded(Path checkpoint, PrintStream console) {
        Path dir = MasterWeights.exactDir(checkpoint);
        String dtype = LlamaConfig.read(dir.resolve(HfCheckpoint.CONFIG_FILE)).torchDtype();
        if (!"float32".equals(dtype)) {
            console.println("warning: " + checkpoint + " has no fp32 master weights (" + dir + " holds " + dtype
                    + "): resuming from weights rounded to " + dtype + ", so this is not an exact resume");
        }
    }

    boolean isFresh() {
        return from == null;
    }

    /** The step the run starts after: 0 when fresh. */
    long step() {
        return isFresh() ? 0 : state.step();
    }

    /**
     * The first intact checkpoint of {@link CheckpointManager#resumeCandidates}: a damaged {@code latest} or newest
     * checkpoint costs the steps since the previous one instead of the run. Fresh when the run has no checkpoint; an
     * error when it has some and none is intact (starting over silently would discard them).
     */
    private static Resume newestIntact(CheckpointManager checkpoints, PrintStream console) throws IOException {
        checkpoints.latestProblem().ifPresent(problem -> console.println("warning: " + problem
                + "; resuming from the newest complete checkpoint that is intact instead"));
        List<String> damaged = new ArrayList<>();
        for (Path candidate : checkpoints.resumeCandidates()) {
            try {
                Resume resume = new Resume(candidate, TrainCheckpoints.readIntact(candidate));
                if (!damaged.isEmpty()) {
                    console.println("falling back to " + candidate + ", the newest complete checkpoint that is intact");
                }
                return resume;
            } catch (CheckpointFormatException e) {
                console.println("warning: checkpoint " + candidate + " is damaged, not resuming from it: " + e.getMessage());
                damaged.add(e.getMessage());
            }
        }
        if (!damaged.isEmpty()) {
            throw new TrainException("no checkpoint in " + checkpoints.root() + " is intact (" + String.join("; ", damaged)
                    + "); pass --resume with a checkpoint folder from elsewhere, or start over with --resume none");
        }
        return FRESH;
    }

    /** The checkpoint {@code --resume} names: it must be complete and intact, or the run stops naming what is wrong. */
    private static Resume named(Path dir) throws IOException {
        if (!CheckpointManager.isComplete(dir)) {
            throw new TrainException("--resume " + dir + ": not a complete checkpoint (no " + CheckpointManager.MARKER
                    + " marker); pass a checkpoints/step_NNNNNNNN folder, or --resume none");
        }
        try {
            return new Resume(dir, TrainCheckpoints.readIntact(dir));
        } catch (CheckpointFormatException e) {
            throw new TrainException("--resume " + dir + ": the checkpoint is damaged: " + e.getMessage()
                    + "; pass another checkpoint, or leave --resume out to use the newest intact one");
        }
    }
}
