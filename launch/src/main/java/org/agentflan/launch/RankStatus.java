package org.agentflan.launch;

import java.util.List;
import org.agentflan.trainer.StopReason;

/** How a launcher of several ranks ({@code train --nproc}, a Spark barrier stage) reads and reports a rank's exit status. */
public final class RankStatus {
    /** Exit statuses every rank reaches together (finished, diverged, preempted), so none of them is a rank's failure. */
    public static final List<Integer> AGREED = List.of(0, StopReason.EXIT_NON_FINITE, StopReason.EXIT_PREEMPTED);
    /** The job's status when the ranks end differently: one failed (2 is train's status for a failed run). */
    public static final int EXIT_RANK_FAILED = 2;

    private RankStatus() {}

    /** "exited with status 2", "was killed by SIGKILL (exit status 137)". */
    public static String describe(int status) {
        if (status > 128 && status < 128 + 65) {
            String name = switch (status - 128) {
                case 1 -> "SIGHUP";
                case 2 -> "SIGINT";
                case 6 -> "SIGABRT";
                case 9 -> "SIGKILL";
                case 10 -> "SIGUSR1";
                case 11 -> "SIGSEGV";
                case 15 -> "SIGTERM";
                default -> "signal " + (status - 128);
            };
            return "was killed by " + name + " (exit status " + status + ")";
        }
        return "exited with status " + status;
    }
}
