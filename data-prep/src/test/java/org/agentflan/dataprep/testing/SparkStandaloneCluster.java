package org.agentflan.dataprep.testing;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Spark standalone cluster on 127.0.0.1 for the cluster tests: a Master and a Worker started from the
 * Maven-resolved Spark jars, in a SPARK_HOME laid out as a Spark distribution's (jars/ links to the test class path's
 * jars, less what agentflan's cluster jars carry), with a {@code bin/spark-submit} that does what a distribution's does:
 * Spark's launcher builds the driver's command (driver memory, {@code --driver-java-options},
 * {@code conf/spark-defaults.conf}) and it runs. Every process it starts is stopped by its own handle on close, with
 * its descendants (the worker's executors and whatever they started).
 */
public final class SparkStandaloneCluster implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    /** Class path entries agentflan's cluster jars carry (ours, DJL, JNA, picocli): a Spark distribution has none. */
    private static final List<String> CARRIED = List.of("agentflan", "/ai/djl/", "/net/java/dev/jna/", "/info/picocli/", "/target/");

    private final Path tmp;
    private final Path sparkHome;
    private final List<Process> started = new ArrayList<>();
    private String masterUrl;

    private SparkStandaloneCluster(Path tmp, Path sparkHome) {
        this.tmp = tmp;
        this.sparkHome = sparkHome;
    }

    /**
     * Starts a Master and one Worker with {@code cores} cores and {@code memory} for executors; logs go to
     * {@code tmp/master.log} and {@code tmp/worker.log}, executors work under {@code tmp/work}.
     *
     * @param sparkDefaults lines of {@code conf/spark-defaults.conf}, which bin/spark-submit reads as a cluster's would
     */
    public static SparkStandaloneCluster start(Path tmp, Path workDir, int cores, String memory, List<String> sparkDefaults)
            throws Exception {
        SparkStandaloneCluster cluster = new SparkStandaloneCluster(tmp, layOutSparkHome(tmp.resolve("spark-home"), sparkDefaults));
        try {
            int masterPort = freePort();
            Process master = cluster.start("master", workDir, List.of("org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort())));
            awaitLog(master, cluster.log("master"), "I have been elected leader");
            cluster.masterUrl = "spark://127.0.0.1:" + masterPort;
            Process worker = cluster.start("worker", workDir, List.of("org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", String.valueOf(cores), "--memory", memory,
                    "--webui-port", String.valueOf(freePort()), "--work-dir", tmp.resolve("work").toString(), cluster.masterUrl));
            awaitLog(worker, cluster.log("worker"), "Successfully registered with master");
            return cluster;
        } catch (Exception | Error e) {
            cluster.close();
            throw e;
        }
    }

    public String masterUrl() {
        return masterUrl;
    }

    public Path sparkHome() {
        return sparkHome;
    }

    /** Where the process started under {@code name} writes its output. */
    public Path log(String name) {
        return tmp.resolve(name + ".log");
    }

    /** The environment the cluster's processes run with; a test runs spark-submit (or agentflan submit) with it too. */
    public Map<String, String> environment() {
        String djlCache = System.getenv("DJL_CACHE_DIR"); // the build's target/djl-cache: libtorch is extracted once
        return Map.of("SPARK_HOME", sparkHome.toString(), "SPARK_SCALA_VERSION", "2.13", "SPARK_LOCAL_IP", "127.0.0.1",
                "JAVA_HOME", System.getProperty("java.home"),
                "DJL_CACHE_DIR", djlCache != null ? djlCache : tmp.resolve("djl").toString());
    }

    /** Starts {@code java -cp SPARK_HOME/jars/* MAIN ARGS} in {@code workDir} with the cluster's environment, output to its log. */
    public Process start(String name, Path workDir, List<String> mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx768m");
        cmd.addAll(jvmFlags());
        cmd.add("-cp");
        cmd.add(sparkHome.resolve("jars") + File.separator + "*");
        cmd.addAll(mainAndArgs);
        return start(name, new ProcessBuilder(cmd).directory(workDir.toFile()));
    }

    /** Starts a command built elsewhere (agentflan submit) with the cluster's environment; its output goes to its log. */
    public Process start(String name, ProcessBuilder pb) throws IOException {
        pb.redirectErrorStream(true).redirectOutput(log(name).toFile()).environment().putAll(environment());
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** The Java 17 flags Spark needs (and DJL's switches), as this test JVM got them from the build. */
    public static List<String> jvmFlags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("--enable-native-access")
                        || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
                        || a.startsWith("-Dio.netty") || a.startsWith("-Dai.djl") || a.startsWith("-DOPT_OUT"))
                .toList();
    }

    /** Stops what this cluster started, newest first, each with its own handle, then its descendants. */
    @Override
    public void close() throws Exception {
        for (int i = started.size() - 1; i >= 0; i--) {
            Process p = started.get(i);
            List<ProcessHandle> children = p.descendants().toList();
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            for (ProcessHandle child : children) {
                child.destroy();
                child.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> {
                    child.destroyForcibly();
                    return child;
                }).join();
            }
        }
        started.clear();
        // The links go, so that the temp-dir cleanup does not warn about each one.
        try (var links = Files.list(sparkHome.resolve("jars"))) {
            for (Path link : links.toList()) {
                Files.delete(link);
            }
        }
    }

    /** SPARK_HOME with jars/ (links to the class path's Spark jars), conf/spark-defaults.conf and bin/spark-submit. */
    private static Path layOutSparkHome(Path home, List<String> sparkDefaults) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : classpath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String s = p.toString();
            if (s.endsWith(".jar") && Files.isRegularFile(p) && CARRIED.stream().noneMatch(s::contains)
                    && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p);
            }
        }
        Files.write(Files.createDirectories(home.resolve("conf")).resolve("spark-defaults.conf"), sparkDefaults);
        // A distribution's bin/spark-submit runs bin/spark-class, which asks Spark's launcher for the driver's command
        // and runs it. The launcher prints its messages line by line, then a NUL line, then the command NUL-separated;
        // spark-class appends the launcher's exit status. The loop below reads that as spark-class does.
        Path submit = Files.createDirectories(home.resolve("bin")).resolve("spark-submit");
        Files.writeString(submit, """
                #!/usr/bin/env bash
                build_command() {
                  "$JAVA_HOME/bin/java" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main \
                      org.apache.spark.deploy.SparkSubmit "$@"
                  printf "%d\\0" $?
                }
                cmd=()
                delim=$'\\n'
                started=false
                while IFS= read -d "$delim" -r arg; do
                  if [ "$started" == true ]; then
                    cmd+=("$arg")
                  elif [ "$arg" == $'\\0' ]; then
                    delim=''
                    started=true
                  elif [ "$arg" != "" ]; then
                    echo "$arg"
                  fi
                done < <(build_command "$@")
                last=$((${#cmd[@]} - 1))
                status=${cmd[$last]:-1}
                if [ "$status" != 0 ]; then
                  echo "spark-submit: Spark's launcher failed with status $status" >&2
                  exit "$status"
                fi
                exec "${cmd[@]:0:$last}"
                """);
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
        return home;
    }

    private static void awaitLog(Process p, Path log, String marker) throws Exception {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (text.contains(marker)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError(log.getFileName() + ": process exited before '" + marker + "':\n" + tail(text));
            }
            Thread.sleep(250);
        }
        throw new AssertionError(log.getFileName() + ": no '" + marker + "' within " + START_TIMEOUT);
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The end of a long log, for an assertion message. */
    public static String tail(String log) {
        return log.length() <= 6000 ? log : log.substring(log.length() - 6000);
    }
}
