package org.agentflan.launch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code train --nproc N}: the N ranks of one job on this machine, as {@code torchrun --nproc_per_node N} starts them.
 * Each rank is a child JVM that runs {@code agentflan train} with the parent's arguments (less {@code --nproc}), JVM
 * flags and class path, and torchrun's variables: {@code RANK} and {@code LOCAL_RANK} k, {@code WORLD_SIZE} and
 * {@code LOCAL_WORLD_SIZE} N, {@code MASTER_ADDR} 127.0.0.1 and {@code MASTER_PORT} a free port. On a machine with
 * GPUs, rank k trains on GPU k. Each line a rank prints comes out prefixed with {@code [rank k]}.
 *
 * <p>When a rank exits, the others have {@link #GRACE} to exit too: after a failure they notice the lost peer and
 * name it within seconds, and after a normal end they are past the last collective already. Ranks still running
 * then are killed. The summary names the rank that failed first. SIGTERM, SIGINT, SIGHUP and SIGUSR1 to this process
 * are passed to every rank, which agree on a step, checkpoint it and exit 75, as one process does.
 */
final class LocalRanks {
    static final Duration GRACE = Duration.ofSeconds(60);
    private static final String PREFIX = "train --nproc: ";

    private final int nproc;
    private final List<String> trainArgs;
    private final PrintStream out;
    private final PrintStream err;
    private final List<Process> ranks = new ArrayList<>();

    private LocalRanks(int nproc, List<String> trainArgs, PrintStream out, PrintStream err) {
        this.nproc = nproc;
        this.trainArgs = trainArgs;
        this.out = out;
        this.err = err;
    }

    /** Runs the job; returns the exit status of {@code train --nproc}. */
    static int run(int nproc, List<String> trainArgs, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        if (nproc < 1) {
            throw new UserError("--nproc must be at least 1, got " + nproc + "; give the number of ranks to start");
        }
        if (System.getenv("RANK") != null || System.getenv("WORLD_SIZE") != null) {
            throw new UserError("--nproc starts the ranks itself, but RANK/WORLD_SIZE are already set (this process is a"
                    + " rank of a launcher such as torchrun): drop --nproc, or unset them");
        }
        return new LocalRanks(nproc, trainArgs, out, err).launch();
    }

    private int launch() throws IOException, InterruptedException {
        int port = freePort();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("WORLD_SIZE", Integer.toString(nproc));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
        env.put("MASTER_ADDR", "127.0.0.1");
        env.put("MASTER_PORT", Integer.toString(port));
        env.put(LauncherWatch.VARIABLE, Long.toString(ProcessHandle.current().pid()));
        // N ranks each taking every core would fight over them; torchrun sets 1. An explicit value is kept.
        String threads = System.getenv("OMP_NUM_THREADS");
        if (threads == null) {
            threads = Integer.toString(Math.max(1, Runtime.getRuntime().availableProcessors() / nproc));
            env.put("OMP_NUM_THREADS", threads);
        }
        out.println(PREFIX + "starting " + nproc + " ranks on 127.0.0.1:" + port + " (OMP_NUM_THREADS=" + threads + ")");
        List<Thread> pumps = new ArrayList<>();
        Map<Signal, SignalHandler> previous = forwardSignals();
        try {
            for (int rank = 0; rank < nproc; rank++) {
                ProcessBuilder pb = new ProcessBuilder(command());
                pb.environment().putAll(env);
                pb.environment().put("RANK", Integer.toString(rank));
                pb.environment().put("LOCAL_RANK", Integer.toString(rank));
                Process p = pb.start();
                synchronized (ranks) {
                    ranks.add(p);
                }
                pumps.add(pump(p.getInputStream(), out, rank));
                pumps.add(pump(p.getErrorStream(), err, rank));
            }
            int status = await();
            for (Thread t : pumps) {
                t.join();
            }
            return status;
        } finally {
            previous.forEach(Signal::handle);
            synchronized (ranks) {
                ranks.forEach(Process::destroyForcibly); // none is left on a normal end; an exception leaves none behind
            }
        }
    }

    /** Waits for every rank; once one has exited, kills those still running after {@link #GRACE}. */
    private int await() throws InterruptedException {
        Map<Integer, Integer> exits = new LinkedHashMap<>(); // in the order the ranks exited
        long killAt = Long.MAX_VALUE;
        while (exits.size() < nproc) {
            for (int r = 0; r < nproc; r++) {
                Process p = ranks.get(r);
                if (!exits.containsKey(r) && !p.isAlive()) {
                    int status = p.exitValue();
                    exits.put(r, status);
                    if (!RankStatus.AGREED.contains(status) && exits.values().stream().filter(s -> !RankStatus.AGREED.contains(s)).count() == 1) {
                        out.println(PREFIX + "rank " + r + " " + RankStatus.describe(status) + "; the other ranks have "
                                + GRACE.toSeconds() + " s to stop");
                    }
                    killAt = Math.min(killAt, System.nanoTime() + GRACE.toNanos());
                }
            }
            if (exits.size() < nproc && System.nanoTime() > killAt) {
                for (int r = 0; r < nproc; r++) {
                    if (ranks.get(r).isAlive()) {
                        out.println(PREFIX + "killing rank " + r + ", still running " + GRACE.toSeconds()
                                + " s after another rank exited");
                        ranks.get(r).destroyForcibly();
                    }
                }
                killAt = Long.MAX_VALUE; // wait for the kills to land
            }
            Thread.sleep(100);
        }
        return summarise(exits);
    }

    /** One status for the job: the ranks' common one, else {@link RankStatus#EXIT_RANK_FAILED} naming the rank that failed first. */
    private int summarise(Map<Integer, Integer> exits) {
        if (exits.values().stream().distinct().count() == 1) {
            int status = exits.values().iterator().next();
            if (status != 0) {
                out.println(PREFIX + "every rank exited with status " + status);
            }
            return status;
        }
        Map.Entry<Integer, Integer> first = exits.entrySet().stream().filter(e -> !RankStatus.AGREED.contains(e.getValue()))
                .findFirst().orElse(exits.entrySet().stream().filter(e -> e.getValue() != 0).findFirst().orElseThrow());
        String others = exits.entrySet().stream().filter(e -> !e.getKey().equals(first.getKey()))
                .map(e -> "rank " + e.getKey() + " " + RankStatus.describe(e.getValue())).collect(Collectors.joining(", "));
        out.println(PREFIX + "rank " + first.getKey() + " failed first: it " + RankStatus.describe(first.getValue()) + "; then "
                + others + ". Run the same command to resume from the newest checkpoint");
        return RankStatus.EXIT_RANK_FAILED;
    }

    /** This JVM's java binary, flags (less a debugger agent, whose port the ranks would fight over) and class path. */
    private List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!flag.startsWith("-agentlib:jdwp") && !flag.startsWith("-Xrunjdwp")) {
                cmd.add(flag);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("train");
        cmd.addAll(trainArgs);
        return cmd;
    }

    /** Copies a rank's output line by line, each prefixed with its rank, until the rank closes it. */
    private static Thread pump(InputStream stream, PrintStream to, int rank) {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (to) {
                        to.println("[rank " + rank + "] " + line);
                    }
                }
            } catch (IOException e) {
                synchronized (to) {
                    to.println("[rank " + rank + "] (output lost: " + e.getMessage() + ")");
                }
            }
        }, "agentflan-rank-" + rank + "-output");
        t.start();
        return t;
    }

    /**
     * Passes SIGTERM, SIGINT, SIGHUP and SIGUSR1 (the stop signals {@code train} catches) on to every rank with
     * {@code kill}: {@code Process.destroy()} would also close the rank's output pipes and lose its last lines (the
     * checkpoint it wrote). Returns the handlers it replaced.
     */
    private Map<Signal, SignalHandler> forwardSignals() {
        Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
        for (String name : List.of("TERM", "INT", "HUP", "USR1")) {
            Signal signal = new Signal(name);
            try {
                previous.put(signal, Signal.handle(signal, s -> {
                    List<Process> alive;
                    synchronized (ranks) {
                        alive = ranks.stream().filter(Process::isAlive).toList();
                    }
                    out.println(PREFIX + "received SIG" + name + ", passing it to " + alive.size() + " ranks");
                    for (Process p : alive) {
                        try {
                            new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).inheritIO().start();
                        } catch (IOException e) {
                            p.destroy(); // no kill command: SIGTERM through Java, which closes the rank's pipes
                        }
                    }
                }));
            } catch (IllegalArgumentException e) {
                // The JVM keeps this signal (-Xrs): it ends this process, and the ranks notice rank 0's store is gone.
            }
        }
        return previous;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
