package org.agentflan.trainer;

import java.util.Locale;

/** Why a training run ended; printed (and recorded by tests) in lowercase, e.g. {@code stop_at_step}. */
public enum StopReason {
    /** Every planned step ran. */
    COMPLETED,
    /** {@code --stop-at-step} was reached; the run checkpointed and can be resumed. */
    STOP_AT_STEP,
    /** The data ran out before the planned steps (max_steps beyond what the data gives). */
    DATA_EXHAUSTED,
    /** {@code nan.max_consecutive} non-finite steps in a row; the command exits non-zero. */
    NON_FINITE,
    /** SIGTERM arrived; the run finished its step and checkpointed. */
    SIGNAL_TERM,
    /** SIGINT (Ctrl-C) arrived; the run finished its step and checkpointed. */
    SIGNAL_INT;

    /** The reason for a signal caught by its name as {@code sun.misc.Signal} gives it ("TERM", "INT"). */
    static StopReason ofSignal(String name) {
        return switch (name) {
            case "TERM" -> SIGNAL_TERM;
            case "INT" -> SIGNAL_INT;
            default -> throw new IllegalArgumentException("no stop reason for signal " + name);
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
