package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.agentflan.dataprep.tokenize.TestPaths;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster jar on a real Spark standalone cluster: a Master and a Worker started on 127.0.0.1 from the
 * Maven-resolved Spark jars (a SPARK_HOME whose jars/ links to them, as a Spark distribution lays them out),
 * the job submitted through SparkSubmit in its own JVM with the tokenizer shipped by --files, and its rows
 * compared with a local-mode run of the same config. Spark's jars hold no agentflan, DJL or JNA class, so the
 * run also proves the cluster jar carries everything Spark does not.
 */
class PrepareClusterIT {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration JOB_TIMEOUT = Duration.ofSeconds(420);

    @TempDir Path tmp;
    private final List<Process> started = new ArrayList<>();

    @Test
    void clusterRunGivesTheRowsOfALocalRun() throws Exception {
        Path root = TestPaths.repoRoot();
        Path jar = Path.of(System.getProperty("agentflan.clusterJar",
                root.resolve("data-prep/target/agentflan-data-prep-0.1.0-SNAPSHOT-cluster.jar").toString()));
        assertTrue(Files.isRegularFile(jar), "cluster jar missing (run mvn verify): " + jar);
        Path sparkHome = sparkHome();
        List<String> overrides = List.of(
                "sources=[{name: agent_flan, path: '" + root.resolve("sample-data/agent-flan") + "/*.jsonl', format: agent_flan, weight: 1.0},"
                        + "{name: toolbench, path: '" + root.resolve("sample-data/toolbench-raw") + "/*.json', format: toolbench_raw, weight: 1.5}]",
                "negatives.enabled=false",
                "format_alignment.sources=[toolbench]",
                "partitions=2");
        try {
            int masterPort = freePort();
            Process master = start("master", sparkHome, root, List.of("org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort())));
            awaitLog(master, tmp.resolve("master.log"), "I have been elected leader");
            String url = "spark://127.0.0.1:" + masterPort;
            Process worker = start("worker", sparkHome, root, List.of("org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "2", "--memory", "1g", "--webui-port", String.valueOf(freePort()),
                    "--work-dir", tmp.resolve("work").toString(), url));
            awaitLog(worker, tmp.resolve("worker.log"), "Successfully registered with master");

            Path clusterOut = tmp.resolve("cluster-out");
            List<String> submit = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit",
                    "--master", url, "--deploy-mode", "client",
                    "--class", PrepareJob.class.getName(),
                    "--files", root.resolve("sample-data/llama2-tokenizer/tokenizer.json").toString(),
                    "--conf", "spark.executor.memory=512m",
                    "--conf", "spark.cores.max=2",
                    "--conf", "spark.driver.host=127.0.0.1",
                    "--conf", "spark.ui.enabled=false",
                    "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", jvmFlags()),
                    "--conf", "spark.executorEnv.DJL_CACHE_DIR=" + tmp.resolve("djl"),
                    jar.toString(),
                    "--config", root.resolve("configs/data/sample.yaml").toString(),
                    // Relative on purpose: executors run in the worker's directory, where only the --files copy exists.
                    "--set", "tokenizer=sample-data/llama2-tokenizer",
                    "--set", "output=" + clusterOut));
            for (String o : overrides) {
                submit.add("--set");
                submit.add(o);
            }
            Process job = start("submit", sparkHome, root, submit);
            boolean finished = job.waitFor(JOB_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            String log = Files.readString(tmp.resolve("submit.log"));
            assertTrue(finished, "spark-submit did not finish in " + JOB_TIMEOUT + ":\n" + tail(log));
            assertEquals(0, job.exitValue(), "spark-submit failed:\n" + tail(log));
            assertTrue(log.contains("prepare: wrote"), tail(log));

            Path localOut = tmp.resolve("local-out");
            List<String> localOverrides = new ArrayList<>(overrides);
            localOverrides.add("tokenizer=" + TestPaths.tokenizer());
            localOverrides.add("output=" + localOut);
            SparkSession spark = SparkSession.builder().master("local[2]").appName("PrepareClusterIT-local")
                    .config("spark.ui.enabled", "false").getOrCreate();
            try {
                PrepareJob.run(spark, DataConfig.load(root.resolve("configs/data/sample.yaml"), localOverrides));
                List<String> local = Shards.rows(spark, localOut);
                assertTrue(local.size() > 50, "rows: " + local.size());
                assertEquals(local, Shards.rows(spark, clusterOut));
            } finally {
                spark.stop();
            }
            ObjectMapper json = new ObjectMapper();
            JsonNode a = json.readTree(localOut.resolve("manifest.json").toFile()).get("totals");
            JsonNode b = json.readTree(clusterOut.resolve("manifest.json").toFile()).get("totals");
            assertEquals(a, b);
        } finally {
            stopAll();
            unlinkJars(sparkHome);
        }
    }

    /** Removes the links so that the temp-dir cleanup does not warn about each one. */
    private static void unlinkJars(Path sparkHome) throws IOException {
        try (var links = Files.list(sparkHome.resolve("jars"))) {
            for (Path link : links.toList()) {
                Files.delete(link);
            }
        }
    }

    /** A SPARK_HOME whose jars/ links to the test classpath's Spark jars (and nothing of ours, DJL's or JNA's). */
    private Path sparkHome() throws IOException {
        Path home = tmp.resolve("spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : classpath.split(File.pathSeparator)) {
            Path p = Path.of(entry);
            String s = p.toString();
            boolean ours = s.contains("agentflan") || s.contains("/ai/djl/") || s.contains("/net/java/dev/jna/")
                    || s.contains("/target/");
            if (s.endsWith(".jar") && Files.isRegularFile(p) && !ours && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p);
            }
        }
        return home;
    }

    private Process start(String name, Path sparkHome, Path workDir, List<String> mainAndArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx768m");
        cmd.addAll(jvmFlags());
        cmd.add("-cp");
        cmd.add(sparkHome.resolve("jars") + File.separator + "*");
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("DJL_CACHE_DIR", tmp.resolve("djl").toString());
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** The Java 17 flags Spark needs, as this test JVM got them from the build. */
    private static List<String> jvmFlags() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("--enable-native-access")
                        || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions") || a.startsWith("-Djdk.reflect")
                        || a.startsWith("-Dio.netty") || a.startsWith("-Dai.djl") || a.startsWith("-DOPT_OUT"))
                .toList();
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

    /** Stops what this test started, newest first, each with its own handle (executors are the worker's children). */
    private void stopAll() throws InterruptedException {
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
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String tail(String log) {
        return log.length() <= 6000 ? log : log.substring(log.length() - 6000);
    }
}
