package org.agentflan.launch;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import sun.misc.Signal;

/**
 * A rank of {@code train --nproc} whose launcher is gone stops as on SIGTERM: the ranks agree on a step, checkpoint it
 * and exit 75. A launcher killed by SIGKILL has no chance to pass a signal on, and its ranks would otherwise train on
 * unwatched, holding the run's lock and the machine. {@link LocalRanks} names itself in {@link #VARIABLE}.
 */
final class LauncherWatch {
    static final String VARIABLE = "AGENTFLAN_LAUNCHER_PID";

    private LauncherWatch() {}

    /** Starts watching the launcher named in {@code environment}, if any. */
    static void install(Map<String, String> environment) {
        String pid = environment.get(VARIABLE);
        if (pid == null) {
            return;
        }
        Optional<ProcessHandle> launcher = ProcessHandle.of(Long.parseLong(pid));
        CompletableFuture<?> gone = launcher.<CompletableFuture<?>>map(ProcessHandle::onExit)
                .orElse(CompletableFuture.completedFuture(null));
        gone.thenRun(() -> {
            System.err.println("train: the launcher (pid " + pid + ") is gone; stopping as on SIGTERM");
            Signal.raise(new Signal("TERM"));
        });
    }
}
