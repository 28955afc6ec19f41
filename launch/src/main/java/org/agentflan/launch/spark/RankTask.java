package org.agentflan.launch.spark;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.agentflan.launch.RankStatus;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One barrier task: one rank. Its rank is the task's partition id and the world the stage's task count. Rank 0 picks
 * its host and a free port for the job's store and shares "host:port" with {@code allGather}, as Spark's
 * TorchDistributor and XGBoost4J-Spark do; every task shares its host the same way, so the local rank is the task's
 * index among the tasks on its host (on GPUs, the GPU Spark assigned the task: the one it trains on).
 *
 * <p>The rank trains in a child JVM ({@link RankProcess}, i.e. {@code agentflan train} with torchrun's variables, as
 * {@code train --nproc} starts its ranks), not in the executor JVM: libtorch's intra-op threads are process-wide and
 * fixed when it loads (OMP_NUM_THREADS, set here to the task's {@code spark.task.cpus}); train's stop signals replace
 * JVM-wide handlers that two ranks in one executor, and the executor itself, would fight over; a native abort or an
 * out-of-memory kill takes one rank, reported with its status, instead of the executor with its other tasks; and a
 * killed task can stop its rank, which a thread deep in a native op would not notice. The cost is a JVM and a
 * libtorch start per rank and attempt, seconds against a training run.
 */
final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankOutcome>> implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Lines of a rank's output kept for the driver's summary and for a failure's message. */
    private static final int TAIL = 20;
    /** How long a killed task's rank has to checkpoint and exit after SIGTERM before it is killed. */
    static final Duration STOP_GRACE = Duration.ofSeconds(60);

    private final String configName;
    private final String configText;
    private final List<String> trainArgs;

    /**
     * @param configName the recipe's file name, kept for train's messages
     * @param configText the recipe as the driver read it: every rank trains on the same bytes, wherever it runs
     * @param trainArgs {@code train}'s other arguments ({@code --set ...}), passed on unchanged
     */
    RankTask(String configName, String configText, List<String> trainArgs) {
        this.configName = configName;
        this.configText = configText;
        this.trainArgs = List.copyOf(trainArgs);
    }

    @Override
    public Iterator<RankOutcome> apply(Iterator<Integer> ignored) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        int rank = ctx.partitionId();
        String host = host(ctx.getTaskInfos()[rank].address());
        String[] gathered = ctx.allGather(rank == 0 ? host + ":" + freePort() : host);
        String store = gathered[0];
        int colon = store.lastIndexOf(':');
        int localRank = 0;
        int localWorld = 0;
        for (int r = 0; r < gathered.length; r++) {
            if (host(gathered[r]).equals(host)) {
                localWorld++;
                if (r < rank) localRank++;
            }
        }
        ResourceInformation gpu = ctx.resourcesJMap().get("gpu");
        if (gpu != null) {
            // train uses GPU LOCAL_RANK; the one Spark assigned keeps two tasks off one GPU whatever the executor layout.
            localRank = Integer.parseInt(gpu.addresses()[0]);
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("RANK", Integer.toString(rank));
        env.put("WORLD_SIZE", Integer.toString(gathered.length));
        env.put("LOCAL_RANK", Integer.toString(localRank));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(localWorld));
        env.put("MASTER_ADDR", store.substring(0, colon));
        env.put("MASTER_PORT", store.substring(colon + 1));
        // The cores Spark gave this task, whatever the executor's environment says.
        env.put("OMP_NUM_THREADS", Integer.toString(ctx.cpus()));
        System.out.println("[rank " + rank + "] spark barrier stage " + ctx.stageId() + " attempt " + ctx.stageAttemptNumber()
                + " on " + host + ": " + env);
        RankOutcome outcome = train(ctx, rank, host, env);
        return CollectionConverters.asScala(List.of(outcome).iterator());
    }

    /** Runs the rank to its end; a status the ranks do not reach together fails the task, and with it the stage. */
    private RankOutcome train(BarrierTaskContext ctx, int rank, String host, Map<String, String> env) {
        Path folder = null;
        Process child = null;
        try {
            folder = Files.createTempDirectory("agentflan-rank" + rank + "-");
            Path config = Files.writeString(folder.resolve(configName), configText);
            List<String> cmd = new ArrayList<>(List.of(javaBinary()));
            cmd.addAll(jvmFlags());
            cmd.addAll(List.of("-cp", classPath(), RankProcess.class.getName(), "train", "--config", config.toString()));
            cmd.addAll(trainArgs);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().putAll(env);
            child = pb.start();
            Deque<String> tail = new ArrayDeque<>();
            Thread pump = pump(child, rank, tail);
            while (!child.waitFor(200, TimeUnit.MILLISECONDS)) {
                if (ctx.isInterrupted()) {
                    stop(child, rank);
                    ctx.killTaskIfInterrupted();
                }
            }
            pump.join();
            int status = child.exitValue();
            List<String> lines;
            synchronized (tail) {
                lines = new ArrayList<>(tail);
            }
            if (!RankStatus.AGREED.contains(status)) {
                throw new IllegalStateException("rank " + rank + " on " + host + " " + RankStatus.describe(status)
                        + "; its last lines:\n  " + String.join("\n  ", lines));
            }
            return new RankOutcome(rank, host, status, lines);
        } catch (IOException e) {
            throw new UncheckedIOException("rank " + rank + " on " + host + ": could not start agentflan train: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            stop(child, rank);
            Thread.currentThread().interrupt();
            throw new IllegalStateException("rank " + rank + " on " + host + ": the task was interrupted; its rank was stopped", e);
        } finally {
            deleteQuietly(folder);
        }
    }

    /**
     * A killed task (another rank failed, or the job was cancelled) stops its rank: SIGTERM first, which makes train
     * finish its step and checkpoint when its peers are still there, then SIGKILL after {@link #STOP_GRACE}. The
     * signal goes through the process handle, which leaves the output pipe open for the rank's last lines.
     */
    private static void stop(Process child, int rank) {
        if (child == null || !child.isAlive()) {
            return;
        }
        System.out.println("[rank " + rank + "] the task was killed: stopping the rank (SIGTERM, SIGKILL after "
                + STOP_GRACE.toSeconds() + " s)");
        child.toHandle().destroy();
        try {
            if (!child.waitFor(STOP_GRACE.toSeconds(), TimeUnit.SECONDS)) {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            child.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Copies the rank's output into the executor's log, each line prefixed with its rank, keeping the last lines. */
    private static Thread pump(Process child, int rank, Deque<String> tail) {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    System.out.println("[rank " + rank + "] " + line);
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > TAIL) tail.removeFirst();
                    }
                }
            } catch (IOException e) {
                System.out.println("[rank " + rank + "] (output lost: " + e.getMessage() + ")");
            }
        }, "agentflan-rank-" + rank + "-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * The task's own class path for the rank: the jars Spark gave the task (the cluster jar, {@code --jars}) and the
     * executor's (Spark's jars, which carry Hadoop, Parquet and Jackson for the trainer).
     */
    private static String classPath() {
        Set<String> entries = new LinkedHashSet<>();
        try {
            entries.add(Path.of(RankTask.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            for (ClassLoader l = RankTask.class.getClassLoader(); l != null; l = l.getParent()) {
                if (l instanceof URLClassLoader urls) {
                    for (URL url : urls.getURLs()) {
                        if (url.getProtocol().equals("file")) entries.add(Path.of(url.toURI()).toString());
                    }
                }
            }
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        entries.addAll(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        return String.join(File.pathSeparator, entries);
    }

    /** The executor's Java 17 module flags and DJL switches (spark.executor.extraJavaOptions); not its heap or agents. */
    private static List<String> jvmFlags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-") || a.startsWith("--enable-native-access") || a.equals("-XX:+IgnoreUnrecognizedVMOptions")
                        || a.startsWith("-Dai.djl.") || a.startsWith("-DOPT_OUT_TRACKING") || a.startsWith("-Djdk.reflect.")
                        || a.startsWith("-Dio.netty."))
                .toList();
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** "host" of Spark's "host:port" task address (and of the gathered "host" or "host:port"). */
    static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }

    /** A port free now on every interface of this host, for rank 0's store (the usual race: it may be taken before use). */
    private static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("rank 0: no free port for the store: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path folder) {
        if (folder == null) return;
        try (var files = Files.walk(folder)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.out.println("warning: could not remove " + folder + ": " + e.getMessage());
        }
    }
}
