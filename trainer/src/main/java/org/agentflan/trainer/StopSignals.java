package org.agentflan.trainer;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM (a scheduler's preemption), SIGINT (Ctrl-C), SIGHUP (the terminal or session that started the run went
 * away) and SIGUSR1 (Slurm's warning ahead of the time limit, {@code sbatch --signal=USR1@SECONDS}) only set a flag: the loop finishes its step, checkpoints and exits with {@link StopReason#EXIT_PREEMPTED}, so
 * no step is lost and the same command resumes. A signal the process was started with ignored (SIGHUP under
 * {@code nohup}, SIGINT for a background job of a non-interactive shell) stays ignored, as its starter asked. The
 * previous handlers are restored on close.
 */
final class StopSignals implements AutoCloseable {
    static final List<String> NAMES = List.of("TERM", "INT", "HUP", "USR1");

    private final AtomicReference<String> raised = new AtomicReference<>();
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    private StopSignals() {}

    static StopSignals install(PrintStream console) {
        StopSignals signals = new StopSignals();
        for (String name : NAMES) {
            Signal signal = new Signal(name);
            try {
                signals.previous.put(signal, Signal.handle(signal, s -> {
                    if (signals.raised.compareAndSet(null, name)) {
                        console.println("received SIG" + name + ": finishing this step, then checkpoint and exit");
                    }
                }));
            } catch (IllegalArgumentException e) {
                // The JVM keeps the signal (-Xrs): it then ends the process as it would without this class.
                console.println("warning: SIG" + name + " cannot be caught in this JVM (" + e.getMessage()
                        + "); it will stop the run without a checkpoint");
            }
        }
        return signals;
    }

    /** The first signal received ("TERM", "INT", "HUP" or "USR1"), or null. */
    String raised() {
        return raised.get();
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
