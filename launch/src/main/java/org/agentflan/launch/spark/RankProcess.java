package org.agentflan.launch.spark;

import java.io.IOException;
import org.agentflan.launch.Main;

/**
 * The child JVM a barrier task starts for its rank: {@code agentflan train} with the rank in torchrun's variables, plus
 * a guard against outliving the task. The task keeps this process's standard input open and never writes to it; end
 * of input means the executor JVM is gone (killed, lost, decommissioned), and a rank left behind would keep its cores,
 * its GPU and, on rank 0, the run folder's lock that the retried stage needs. So the rank then halts at once; the run
 * folder keeps its newest complete checkpoint, which the retried stage resumes from.
 */
public final class RankProcess {
    /** The status a rank halts with when its task is gone (nobody reads it; it names the case in a core dump or audit). */
    static final int EXIT_ORPHANED = 3;

    private RankProcess() {}

    public static void main(String[] args) {
        Thread guard = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the task never writes; anything read is ignored
                }
            } catch (IOException e) {
                // a broken pipe means the same as end of input
            }
            System.err.println("the Spark task that started this rank is gone (its executor exited): stopping now");
            Runtime.getRuntime().halt(EXIT_ORPHANED);
        }, "agentflan-task-guard");
        guard.setDaemon(true);
        guard.start();
        System.exit(Main.commandLine().execute(args));
    }
}
