package org.agentflan.trainer;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT (a scheduler's preemption, Ctrl-C) only set a flag: the loop finishes its step, checkpoints and
 * exits, so no step is lost. The previous handlers are restored on close.
 */
final class StopSignals implements AutoCloseable {
    private final AtomicReference<String> raised = new AtomicReference<>();
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

    private StopSignals() {}

    static StopSignals install(PrintStream console) {
        StopSignals signals = new StopSignals();
        for (String name : List.of("TERM", "INT")) {
            Signal signal = new Signal(name);
            signals.previous.put(signal, Signal.handle(signal, s -> {
                if (signals.raised.compareAndSet(null, name)) {
                    console.println("received SIG" + name + ": finishing this step, then checkpoint and exit");
                }
            }));
        }
        return signals;
    }

    /** The first signal received ("TERM" or "INT"), or null. */
    String raised() {
        return raised.get();
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
