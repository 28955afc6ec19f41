package org.agentflan.trainer;

import java.util.Locale;

/**
 * Why a training run ended, and the exit status {@code agentflan train} gives it. Printed (and recorded by tests) in
 * lowercase, e.g. {@code stop_at_step}.
 */
public enum StopReason {
    /** Every planned step ran. */
    COMPLETED,
    /** {@code --stop-at-step} was reached; the run checkpointed and can be resumed. */
    STOP_AT_STEP,
    /** The data ran out before the planned steps (max_steps beyond what the data gives). */
    DATA_EXHAUSTED,
    /** Non-finite weights, {@code nan.max_consecutive} non-finite steps in a row, or a non-finite last step. */
    NON_FINITE,
    /** SIGTERM arrived (a scheduler's preemption); the run finished its step and checkpointed. */
    SIGNAL_TERM,
    /** SIGINT (Ctrl-C) arrived; the run finished its step and checkpointed. */
    SIGNAL_INT,
    /** SIGHUP arrived (the session that started the run ended); the run finished its step and checkpointed. */
    SIGNAL_HUP,
    /** SIGUSR1 arrived (Slurm's warning ahead of the time limit); the run finished its step and checkpointed. */
    SIGNAL_USR1;

    /** The run diverged: exit status 1. */
    public static final int EXIT_NON_FINITE = 1;
    /**
     * Stopped by a signal after checkpointing: exit status 75 (EX_TEMPFAIL of sysexits.h, "try again later"), so a
     * scheduler or a retry loop can tell preemption, which the same command resumes, from a finished run (0).
     */
    public static final int EXIT_PREEMPTED = 75;

    /** The reason for a signal caught by its name as {@code sun.misc.Signal} gives it ("TERM", "INT", "HUP", "USR1"). */
    static StopReason ofSignal(String name) {
        return switch (name) {
            case "TERM" -> SIGNAL_TERM;
            case "INT" -> SIGNAL_INT;
            case "HUP" -> SIGNAL_HUP;
            case "USR1" -> SIGNAL_USR1;
            default -> throw new IllegalArgumentException("no stop reason for signal " + name);
        };
    }

    /** Whether a signal stopped the run (it checkpointed, and the same command resumes it). */
    public boolean isSignal() {
        return this == SIGNAL_TERM || this == SIGNAL_INT || this == SIGNAL_HUP || this == SIGNAL_USR1;
    }

    /** The exit status of {@code agentflan train}: 0 finished or stopped as asked, 1 diverged, 75 preempted. */
    public int exitCode() {
        return switch (this) {
            case COMPLETED, STOP_AT_STEP, DATA_EXHAUSTED -> 0;
            case NON_FINITE -> EXIT_NON_FINITE;
            case SIGNAL_TERM, SIGNAL_INT, SIGNAL_HUP, SIGNAL_USR1 -> EXIT_PREEMPTED;
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
