package org.agentflan.launch.submit;

/**
 * One kind of cluster {@code agentflan submit --target} knows: renders a request into the files and the command that
 * submit it there. Refuses, with a {@code UserError} naming the option and what to change, a request it cannot honour.
 */
public interface SubmitTarget {
    Submission render(SubmitRequest request);

    /**
     * The console line once the command succeeded, given what it printed: the submission's summary, unless the target
     * adds what only the command knows (sbatch's job id).
     */
    default String summary(Submission submission, String commandOutput) {
        return submission.summary();
    }

    /**
     * Whether the command runs the training itself and returns when it ends (spark-submit in client mode), rather than
     * queueing a job: then train's own exit statuses 1 (diverged) and 75 (preempted) are the command's to report.
     */
    default boolean runsTheTraining() {
        return false;
    }
}
