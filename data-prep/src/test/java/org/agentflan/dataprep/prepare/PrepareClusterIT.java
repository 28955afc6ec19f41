package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agentflan.dataprep.testing.SparkStandaloneCluster;
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
    private static final Duration JOB_TIMEOUT = Duration.ofSeconds(420);

    @TempDir Path tmp;

    @Test
    void clusterRunGivesTheRowsOfALocalRun() throws Exception {
        Path root = TestPaths.repoRoot();
        Path jar = Path.of(System.getProperty("agentflan.clusterJar",
                root.resolve("data-prep/target/agentflan-data-prep-0.1.0-SNAPSHOT-cluster.jar").toString()));
        assertTrue(Files.isRegularFile(jar), "cluster jar missing (run mvn verify): " + jar);
        List<String> overrides = List.of(
                "sources=[{name: agent_flan, path: '" + root.resolve("sample-data/agent-flan") + "/*.jsonl', format: agent_flan, weight: 1.0},"
                        + "{name: toolbench, path: '" + root.resolve("sample-data/toolbench-raw") + "/*.json', format: toolbench_raw, weight: 1.5}]",
                "negatives.enabled=false",
                "format_alignment.sources=[toolbench]",
                "partitions=2");
        try (SparkStandaloneCluster cluster = SparkStandaloneCluster.start(tmp, root, 2, "1g", List.of())) {
            Path clusterOut = tmp.resolve("cluster-out");
            List<String> submit = new ArrayList<>(List.of("org.apache.spark.deploy.SparkSubmit",
                    "--master", cluster.masterUrl(), "--deploy-mode", "client",
                    "--class", PrepareJob.class.getName(),
                    "--files", root.resolve("sample-data/llama2-tokenizer/tokenizer.json").toString(),
                    "--conf", "spark.executor.memory=512m",
                    "--conf", "spark.cores.max=2",
                    "--conf", "spark.driver.host=127.0.0.1",
                    "--conf", "spark.ui.enabled=false",
                    "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", SparkStandaloneCluster.jvmFlags()),
                    jar.toString(),
                    "--config", root.resolve("configs/data/sample.yaml").toString(),
                    // Relative on purpose: executors run in the worker's directory, where only the --files copy exists.
                    "--set", "tokenizer=sample-data/llama2-tokenizer",
                    "--set", "output=" + clusterOut));
            for (String o : overrides) {
                submit.add("--set");
                submit.add(o);
            }
            Process job = cluster.start("submit", root, submit);
            boolean finished = job.waitFor(JOB_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            String log = Files.readString(cluster.log("submit"));
            assertTrue(finished, "spark-submit did not finish in " + JOB_TIMEOUT + ":\n" + SparkStandaloneCluster.tail(log));
            assertEquals(0, job.exitValue(), "spark-submit failed:\n" + SparkStandaloneCluster.tail(log));
            assertTrue(log.contains("prepare: wrote"), SparkStandaloneCluster.tail(log));

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
        }
    }
}
