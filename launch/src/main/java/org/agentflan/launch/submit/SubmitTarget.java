package org.agentflan.launch.submit;

/**
 * One kind of cluster {@code agentflan submit --target} knows: renders a request into the files and the command that
 * submit it there. Refuses, with a {@code UserError} naming the option and what to change, a request it cannot honour.
 */
public interface SubmitTarget {
    Submission render(SubmitRequest request);
}
