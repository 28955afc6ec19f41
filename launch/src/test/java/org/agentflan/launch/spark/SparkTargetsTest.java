package org.agentflan.launch.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.agentflan.config.ConfigException;
import org.agentflan.launch.UserError;
import org.agentflan.launch.submit.ClusterShape;
import org.agentflan.launch.submit.SubmitRequest;
import org.agentflan.launch.submit.Submission;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark-submit lines {@code submit --target spark-data} and {@code --target spark} render, argument for argument,
 * and what they refuse. The checkout is a temporary folder holding the built files the targets look for (the cluster
 * jars, launch's class path file), so the lines do not depend on whether this build has packaged yet.
 */
class SparkTargetsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path TOKENIZER = ROOT.resolve("sample-data/llama2-tokenizer");
    /** The flags docs/design.md lists for Spark on Java 17, written out here so that a change to either shows. */
    private static final String FLAGS = "-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector"
            + " --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED"
            + " --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED"
            + " --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED"
            + " --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED"
            + " --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED"
            + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED"
            + " --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED"
            + " -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED";

    @TempDir Path checkout;
    private Path dataJar;
    private Path trainJar;
    private Path natives;
    private Path dataConfig;
    private final Path trainConfig = ROOT.resolve("configs/train/tiny.yaml");
    private final List<String> trainSets = List.of("run_dir=/shared/runs/tiny", "data.dirs=[/shared/data/sample]",
            "model.tokenizer_dir=/shared/llama2-tokenizer");

    @BeforeEach
    void builtCheckout() throws IOException {
        dataJar = Files.createFile(Files.createDirectories(checkout.resolve("data-prep/target"))
                .resolve("agentflan-data-prep-0.1.0-SNAPSHOT-cluster.jar"));
        trainJar = Files.createFile(Files.createDirectories(checkout.resolve("launch/target"))
                .resolve("agentflan-launch-0.1.0-SNAPSHOT-cluster.jar"));
        natives = Path.of("/m2/ai/djl/pytorch/pytorch-native-cpu/2.7.1/pytorch-native-cpu-2.7.1-linux-x86_64.jar");
        Files.writeString(checkout.resolve("launch/target/classpath.txt"),
                "/m2/ai/djl/api/0.36.0/api-0.36.0.jar:" + natives + ":/m2/info/picocli/picocli-4.7.7.jar\n");
        dataConfig = checkout.resolve("sample.yaml");
        Files.writeString(dataConfig, Files.readString(ROOT.resolve("configs/data/sample.yaml"))
                .replace("path: sample-data/", "path: " + ROOT + "/sample-data/")
                .replace("tokenizer: sample-data/llama2-tokenizer", "tokenizer: " + TOKENIZER)
                .replace("output: work/data/sample", "output: hdfs:///agentflan/data/sample"));
    }

    // ---------------------------------------------------------------- spark-data

    @Test
    void dataStageOnAStandaloneMaster() {
        Submission s = data(shape(1, null, 0, null, null, "spark://node1:7077"), List.of("partitions=64"));
        List<String> expected = new ArrayList<>(List.of("spark-submit", "--master", "spark://node1:7077", "--deploy-mode", "client",
                "--class", "org.agentflan.dataprep.prepare.PrepareJob",
                "--driver-java-options", FLAGS,
                "--conf", "spark.executor.extraJavaOptions=" + FLAGS + " -Dai.djl.offline=true",
                "--files", TOKENIZER.resolve("tokenizer.json").toString(),
                dataJar.toString(), "--config", dataConfig.toString(), "--set", "partitions=64"));
        assertEquals(expected, s.command());
        assertEquals(List.of(SparkSubmitLine.SCRIPT), List.copyOf(s.files().keySet()));
    }

    @Test
    void theSubmitFolderKeepsTheCommandAsAScriptThatPassesEveryArgumentUnchanged() throws Exception {
        // A spark-submit that prints its arguments, one per NUL-terminated record.
        Path home = checkout.resolve("spark");
        Path echo = Files.createDirectories(home.resolve("bin")).resolve("spark-submit");
        Files.writeString(echo, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n");
        assertTrue(echo.toFile().setExecutable(true));
        List<String> sets = plus(trainSets, "optimizer.lr=3e-4");
        Submission s = new SparkTrainTarget(Map.of("SPARK_HOME", home.toString())).render(new SubmitRequest(trainConfig,
                plus(sets, "run_dir=/shared/runs/it's here"), shape(2, 2, 0, null, null, "spark://node1:7077"), checkout));
        String script = s.files().get(SparkSubmitLine.SCRIPT);
        assertTrue(script.startsWith("#!/bin/sh\n# written by agentflan submit; runs the same spark-submit again\n" + echo
                + " \\\n  --master spark://node1:7077 \\\n  --deploy-mode client \\\n"), script);
        assertTrue(script.contains(" \\\n  --driver-java-options '" + FLAGS + "' \\\n"), script);
        Path file = Files.writeString(checkout.resolve("spark-submit.sh"), script);
        Process p = new ProcessBuilder("sh", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals(s.command().subList(1, s.command().size()), List.of(out.split("\0")));
    }

    @Test
    void dataStageOnYarnAndKubernetesTakesAnExecutorPerNodeAndTheirPlacement() {
        List<String> yarn = data(shape(4, null, 0, "research", null, "yarn"), List.of()).command();
        assertEquals(List.of("--queue", "research", "--conf", "spark.executor.instances=4", "--files"),
                yarn.subList(yarn.indexOf("--queue"), yarn.indexOf("--files") + 1));
        List<String> k8s = data(shape(3, null, 0, "ml", "apache/spark:4.2.0-java17", "k8s://https://10.0.0.1:6443"), List.of()).command();
        assertEquals(List.of("--master", "k8s://https://10.0.0.1:6443"), k8s.subList(1, 3));
        assertEquals(List.of("--conf", "spark.kubernetes.namespace=ml", "--conf", "spark.kubernetes.container.image=apache/spark:4.2.0-java17",
                "--conf", "spark.executor.instances=3", "--files"),
                k8s.subList(k8s.indexOf("spark.kubernetes.namespace=ml") - 1, k8s.indexOf("--files") + 1));
        List<String> local = data(shape(1, null, 0, null, null, "local[*]"), List.of()).command();
        assertEquals("--files", local.get(local.indexOf("spark.executor.extraJavaOptions=" + FLAGS + " -Dai.djl.offline=true") + 1));
    }

    @Test
    void dataStageRefusals() {
        refused(() -> data(shape(1, null, 1, null, null, "local[*]"), List.of()), "the data stage runs on CPUs only; drop --gpus-per-node 1");
        refused(() -> data(shape(1, null, 2, null, null, "spark://h:7077"), List.of()), "the data stage runs on CPUs only");
        refused(() -> data(shape(1, 2, 0, null, null, "yarn"), List.of()), "the data stage has no ranks");
        refused(() -> data(shape(2, null, 0, null, null, "local[*]"), List.of()), "--nodes 2 has no meaning for --master local[*]: local mode runs on this machine");
        refused(() -> data(shape(2, null, 0, null, null, "spark://h:7077"), List.of()), "a standalone master gives the job the free cores of all its workers");
        refused(() -> data(shape(1, null, 0, null, null, "spark://h:7077"), List.of("output=work/data/x")),
                "needs absolute paths, because the driver runs in the submit folder and executors in their own work folders: output is the relative path 'work/data/x'");
        refused(() -> data(shape(1, null, 0, null, null, "spark://h:7077"), List.of("tokenizer=" + checkout)),
                "tokenizer " + checkout + " has no tokenizer.json to ship to the executors");
        assertThrows(ConfigException.class, () -> data(shape(1, null, 0, null, null, "yarn"), List.of("partitons=3")));
    }

    /** submit --verbose reaches the driver (INFO logging there, and the ranks' stack traces); without it, nothing. */
    @Test
    void verboseIsPassedOnToTheDriver() {
        ClusterShape local = shape(1, null, 0, null, null, "local[2]");
        for (boolean verbose : new boolean[] {false, true}) {
            List<String> data = new SparkDataTarget(Map.of())
                    .render(new SubmitRequest(dataConfig, List.of(), local, checkout, verbose)).command();
            List<String> train = new SparkTrainTarget(Map.of())
                    .render(new SubmitRequest(trainConfig, trainSets, shape(1, 2, 0, null, null, "local[4]"), checkout, verbose))
                    .command();
            assertEquals(verbose, data.get(data.size() - 1).equals("--verbose"), data.toString());
            assertEquals(verbose, train.get(train.size() - 1).equals("--verbose"), train.toString());
            assertEquals(verbose ? 1 : 0, data.stream().filter("--verbose"::equals).count(), data.toString());
        }
    }

    @Test
    void theRelativePathsOfTheBundledRecipeAreListedTogether() {
        SubmitRequest request = new SubmitRequest(ROOT.resolve("configs/data/sample.yaml"), List.of(),
                shape(1, null, 0, null, null, "local[*]"), checkout);
        String message = assertThrows(UserError.class, () -> new SparkDataTarget(Map.of()).render(request)).getMessage();
        assertTrue(message.contains("sources 'agent_flan' path is the relative path 'sample-data/agent-flan/*.jsonl'; "), message);
        assertTrue(message.contains("tokenizer is the relative path 'sample-data/llama2-tokenizer'; output is the relative path"
                + " 'work/data/sample'. Give each as an absolute path"), message);
    }

    // ---------------------------------------------------------------- spark (training)

    @Test
    void trainingOnAStandaloneMasterOnCpus() {
        Submission s = train(shape(2, 2, 0, null, null, "spark://node1:7077"), trainSets);
        List<String> expected = new ArrayList<>(List.of("spark-submit", "--master", "spark://node1:7077", "--deploy-mode", "client",
                "--class", "org.agentflan.launch.spark.BarrierTrain",
                "--driver-java-options", FLAGS,
                "--conf", "spark.executor.extraJavaOptions=" + FLAGS + " -Dai.djl.offline=true",
                "--name", "agentflan-spark",
                "--conf", "spark.dynamicAllocation.enabled=false",
                "--conf", "spark.cores.max=8", // 4 ranks x 2 cores: tiny.yaml's threads
                "--conf", "spark.executor.cores=4",
                "--conf", "spark.task.cpus=2",
                "--jars", natives.toString(),
                trainJar.toString(), "--ranks", "4", "--config", trainConfig.toString()));
        for (String set : trainSets) {
            expected.addAll(List.of("--set", set));
        }
        assertEquals(expected, s.command());
        assertEquals(List.of(SparkSubmitLine.SCRIPT), List.copyOf(s.files().keySet()));
    }

    @Test
    void trainingOnYarnWithGpusTakesOneGpuPerTaskAndShipsNoCpuLibtorch() {
        Submission s = train(shape(2, null, 8, "gpu", null, "yarn"), plus(trainSets, "threads=0"));
        List<String> cmd = s.command();
        assertEquals("spark.executor.extraJavaOptions=" + FLAGS, cmd.get(cmd.indexOf("--driver-java-options") + 3));
        assertEquals(List.of("--queue", "gpu", "--name", "agentflan-spark",
                "--conf", "spark.dynamicAllocation.enabled=false",
                "--conf", "spark.executor.instances=2",
                "--conf", "spark.executor.cores=8",
                "--conf", "spark.task.cpus=1",
                "--conf", "spark.executor.resource.gpu.amount=8",
                "--conf", "spark.task.resource.gpu.amount=1",
                trainJar.toString(), "--ranks", "16"), cmd.subList(cmd.indexOf("--queue"), cmd.indexOf("--ranks") + 2));
        assertTrue(s.files().get(SparkTrainTarget.GPU_NOTES).contains("YARN must schedule GPUs (yarn.io/gpu"), s.files().toString());
        Submission k8s = train(shape(1, 4, 4, null, "registry/agentflan-spark:1", "k8s://https://api:6443"), trainSets);
        assertTrue(k8s.files().get(SparkTrainTarget.GPU_NOTES).contains("spark.executor.resource.gpu.discoveryScript="), k8s.files().toString());
    }

    @Test
    void trainingInLocalModeUsesSparkSubmitFromSparkHome() throws IOException {
        Path home = checkout.resolve("spark");
        Path submit = Files.createFile(Files.createDirectories(home.resolve("bin")).resolve("spark-submit"));
        assertTrue(submit.toFile().setExecutable(true));
        List<String> cmd = new SparkTrainTarget(Map.of("SPARK_HOME", home.toString()))
                .render(new SubmitRequest(trainConfig, trainSets, shape(1, 2, 0, null, null, "local[4]"), checkout)).command();
        assertEquals(submit.toString(), cmd.get(0));
        assertEquals(List.of("--conf", "spark.dynamicAllocation.enabled=false", "--conf", "spark.task.cpus=2", "--jars"),
                cmd.subList(cmd.indexOf("spark.dynamicAllocation.enabled=false") - 1, cmd.indexOf("--jars") + 1));
        refused(() -> new SparkTrainTarget(Map.of("SPARK_HOME", checkout.toString())).render(
                new SubmitRequest(trainConfig, trainSets, shape(1, 2, 0, null, null, "local[4]"), checkout)),
                "SPARK_HOME is " + checkout + ", but " + checkout.resolve("bin/spark-submit") + " is not an executable file");
    }

    @Test
    void trainingRefusals() {
        refused(() -> train(shape(1, null, 0, null, null, null), trainSets), "submit --target spark needs --master: one of local[*]");
        refused(() -> train(shape(1, null, 1, null, null, "local[*]"), trainSets), "--master local[*] cannot hand out GPUs to tasks");
        refused(() -> train(shape(1, 4, 2, null, null, "yarn"), trainSets), "--ranks-per-node 4 needs a GPU per rank, but --gpus-per-node is 2");
        refused(() -> train(shape(1, 3, 0, null, null, "local[4]"), trainSets),
                "--master local[4] has 4 task slots, but 3 ranks of 2 cores (spark.task.cpus, from the recipe's threads) need 6 at once");
        refused(() -> train(shape(2, null, 0, null, null, "local[8]"), trainSets), "local mode runs on this machine only; drop --nodes");
        refused(() -> train(new ClusterShape(1, null, 0, null, java.time.Duration.ofHours(2), null, "yarn", "j", null, null), trainSets),
                "Spark has no wall-clock limit for an application; drop --time");
        refused(() -> train(shape(1, null, 0, "q", null, "spark://h:7077"), trainSets), "--partition q has no meaning for --master spark://h:7077");
        refused(() -> train(new ClusterShape(1, null, 0, null, null, null, "yarn", "j", "claim:/data", null), trainSets),
                "--volume claim:/data mounts a claim into the k8s target's pods");
        refused(() -> train(shape(1, null, 0, null, null, "k8s://https://api:6443"), trainSets), "runs executors in pods: pass --image");
        refused(() -> train(shape(1, null, 0, null, "img", "yarn"), trainSets), "--image img has no meaning for --master yarn");
        refused(() -> train(shape(1, null, 0, null, null, "yarn"), List.of("data.dirs=[/d]", "model.tokenizer_dir=/t")),
                "run_dir is the relative path 'work/runs/tiny'");
        refused(() -> train(shape(1, null, 0, null, null, "yarn"), plus(trainSets, "data.dirs=[hdfs:///d]")),
                "data.dirs entry is the URI 'hdfs:///d', but the trainer reads local files only");
    }

    @Test
    void masterUrlForms() {
        for (String ok : List.of("local", "local[*]", "local[3]", "spark://h:7077", "spark://a:7077,b:7078", "yarn",
                "k8s://https://10.0.0.1:6443", "k8s://http://127.0.0.1:8001")) {
            assertEquals(ok, SparkMaster.parse(ok, "spark").url());
        }
        refused(() -> SparkMaster.parse("k8s://10.0.0.1:6443", "spark"), "a Kubernetes master names its API server with its scheme");
        refused(() -> SparkMaster.parse("spark://node1", "spark"), "a standalone master is spark://HOST:PORT");
        refused(() -> SparkMaster.parse("yarn-client", "spark"), "yarn-client and yarn-cluster are gone since Spark 2: use yarn");
        refused(() -> SparkMaster.parse("mesos://h:5050", "spark-data"), "--master mesos://h:5050 is not a Spark master URL; use one of"
                + " local[*], local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT");
        refused(() -> SparkMaster.parse("local[0]", "spark"), "is not a Spark master URL");
    }

    @Test
    void aMissingClusterJarSaysHowToBuildIt() throws IOException {
        Files.delete(trainJar);
        refused(() -> train(shape(1, null, 0, null, null, "local[2]"), trainSets),
                "no launch cluster jar in " + checkout.resolve("launch/target") + "; build exactly one with mvn -B -pl launch -am package -DskipTests");
        Files.delete(dataJar);
        refused(() -> data(shape(1, null, 0, null, null, "local[2]"), List.of()), "no data-prep cluster jar in");
    }

    private Submission data(ClusterShape shape, List<String> overrides) {
        return new SparkDataTarget(Map.of()).render(new SubmitRequest(dataConfig, overrides, shape, checkout));
    }

    private Submission train(ClusterShape shape, List<String> overrides) {
        return new SparkTrainTarget(Map.of()).render(new SubmitRequest(trainConfig, overrides, shape, checkout));
    }

    private static ClusterShape shape(int nodes, Integer ranksPerNode, int gpus, String partition, String image, String master) {
        return new ClusterShape(nodes, ranksPerNode, gpus, partition, null, image, master, "agentflan-spark", null, null);
    }

    private static List<String> plus(List<String> list, String more) {
        List<String> all = new ArrayList<>(list);
        all.add(more);
        return all;
    }

    private static void refused(org.junit.jupiter.api.function.Executable render, String part) {
        String message = assertThrows(UserError.class, render).getMessage();
        assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
    }
}
