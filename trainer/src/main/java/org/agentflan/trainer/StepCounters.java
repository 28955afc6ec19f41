package org.agentflan.trainer;

import org.agentflan.trainer.checkpoint.TrainerState;

/**
 * How far a run has got: optimizer steps done, rows, tokens and loss tokens trained on, and the current run of
 * non-finite (skipped) steps. Saved in {@code trainer_state.json} and restored on resume, so a resumed run counts on
 * exactly where the interrupted one stopped.
 */
final class StepCounters {
    private long step;
    private long rowsSeen;
    private long tokensSeen;
    private long lossTokensSeen;
    private int consecutiveNonFinite;

    /** Counters at the start of a run: zero, or the resumed checkpoint's. */
    static StepCounters at(Resume resume) {
        StepCounters c = new StepCounters();
        if (!resume.isFresh()) {
            TrainerState s = resume.state();
            c.step = s.step();
            c.rowsSeen = s.rowsSeen();
            c.tokensSeen = s.tokensSeen();
            c.lossTokensSeen = s.lossTokensSeen();
            c.consecutiveNonFinite = s.consecutiveNonFinite();
        }
        return c;
    }

    /**
     * Counts one optimizer step; a skipped (non-finite) one still consumed its data, as torch's GradScaler loop does:
     * the next step takes the next batch. An fp16 overflow that lowered the loss scale is the scaler at work, not a
     * sign of divergence: it leaves the run of non-finite steps as it was.
     */
    void advance(OptimizerStep.Outcome outcome) {
        step++;
        rowsSeen += outcome.rows();
        tokensSeen += outcome.tokens();
        lossTokensSeen += outcome.lossTokens();
        if (outcome.finite()) {
            consecutiveNonFinite = 0;
        } else if (!outcome.overflow()) {
            consecutiveNonFinite++;
        }
    }

    long step() {
        return step;
    }

    long rowsSeen() {
        return rowsSeen;
    }

    long tokensSeen() {
        return tokensSeen;
    }

    long lossTokensSeen() {
        return lossTokensSeen;
    }

    int consecutiveNonFinite() {
        return consecutiveNonFinite;
    }
}
