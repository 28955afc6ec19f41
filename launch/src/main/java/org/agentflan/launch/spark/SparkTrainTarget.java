package org.agentflan.launch.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.launch.UserError;
import org.agentflan.launch.submit.ClusterShape;
import org.agentflan.launch.submit.SubmitRequest;
import org.agentflan.launch.submit.SubmitTarget;
import org.agentflan.launch.submit.Submission;
import org.agentflan.trainer.TrainConfig;

/**
 * {@code submit --target spark}: training as one Spark barrier stage ({@link BarrierTrain}), one task per rank, through
 * spark-submit with launch's cluster jar. The shape becomes one executor per node holding that node's ranks: each task
 * takes {@code spark.task.cpus} cores (the recipe's {@code threads}, at least 1) and, with GPUs, one GPU. On CPU the
 * libtorch natives travel with {@code --jars}; on GPUs DJL finds CUDA libtorch on the nodes (download or
 * {@code PYTORCH_LIBRARY_PATH}). Every path the ranks read or write must be absolute on storage all nodes share.
 */
public final class SparkTrainTarget implements SubmitTarget {
    static final String TARGET = "spark";
    /** The file a GPU submission adds to the submit folder: what the cluster needs before Spark can hand out GPUs. */
    static final String GPU_NOTES = "gpu-notes.txt";
    private final Map<String, String> env;

    /** @param env the environment spark-submit is looked up in ({@code SPARK_HOME}); the process's own in use */
    public SparkTrainTarget(Map<String, String> env) {
        this.env = env;
    }

    /** spark-submit in client mode returns when the barrier stage, and so the training, ends. */
    @Override
    public boolean runsTheTraining() {
        return true;
    }

    @Override
    public Submission render(SubmitRequest request) {
        ClusterShape shape = request.shape();
        SparkMaster master = SparkMaster.parse(shape.master(), TARGET);
        int gpus = shape.gpusPerNode();
        if (shape.nodes() < 1 || gpus < 0) {
            throw new UserError("--nodes must be at least 1 and --gpus-per-node at least 0, got " + shape.nodes() + " and " + gpus);
        }
        int ranksPerNode = shape.ranksPerNode() != null ? shape.ranksPerNode() : Math.max(gpus, 1);
        if (ranksPerNode < 1) {
            throw new UserError("--ranks-per-node must be at least 1, got " + ranksPerNode);
        }
        if (gpus > 0 && ranksPerNode > gpus) {
            throw new UserError("--ranks-per-node " + ranksPerNode + " needs a GPU per rank, but --gpus-per-node is " + gpus
                    + ": lower --ranks-per-node to at most " + gpus);
        }
        int ranks = shape.nodes() * ranksPerNode;
        TrainConfig cfg = TrainConfig.load(request.config(), request.overrides());
        checkPaths(cfg);
        int taskCpus = Math.max(1, cfg.threads());

        List<String> executorFlags = gpus == 0 ? List.of("-Dai.djl.offline=true") : List.of();
        List<String> command = SparkSubmitLine.start(env, master, BarrierTrain.class.getName(), executorFlags);
        command.addAll(master.placement(shape, TARGET));
        command.addAll(List.of("--name", shape.jobName()));
        // A barrier stage needs all its slots at once; dynamic allocation cannot promise that and Spark refuses it.
        command.addAll(List.of("--conf", "spark.dynamicAllocation.enabled=false"));
        if (master.isLocal()) {
            command.addAll(localSlots(master, shape, ranks, taskCpus, gpus));
        } else {
            if (master.kind() != SparkMaster.Kind.STANDALONE) {
                command.addAll(List.of("--conf", "spark.executor.instances=" + shape.nodes()));
            } else {
                // Standalone sizes an application by cores, not executors: exactly the ranks' cores, in executors of
                // one node's ranks each.
                command.addAll(List.of("--conf", "spark.cores.max=" + ranks * taskCpus));
            }
            command.addAll(List.of("--conf", "spark.executor.cores=" + ranksPerNode * taskCpus));
        }
        command.addAll(List.of("--conf", "spark.task.cpus=" + taskCpus));
        Map<String, String> files = new LinkedHashMap<>();
        if (gpus > 0) {
            command.addAll(List.of("--conf", "spark.executor.resource.gpu.amount=" + ranksPerNode,
                    "--conf", "spark.task.resource.gpu.amount=1"));
            files.put(GPU_NOTES, gpuNotes(master));
        } else {
            command.addAll(List.of("--jars", cpuNatives(request.projectRoot()).toString()));
        }
        command.add(SparkSubmitLine.clusterJar(request.projectRoot(), "launch").toString());
        command.addAll(List.of(BarrierTrain.RANKS, Integer.toString(ranks), "--config", request.config().toString()));
        for (String override : request.overrides()) {
            command.addAll(List.of("--set", override));
        }
        if (request.verbose()) {
            command.add(BarrierTrain.VERBOSE);
        }
        files.put(SparkSubmitLine.SCRIPT, SparkSubmitLine.script(command));
        return new Submission(files, command, "training " + shape.jobName() + " ran as a barrier stage of " + ranks
                + " ranks on " + master.url() + "; its run folder is " + cfg.runDir());
    }

    /** local[N]: this machine's threads are the slots; a barrier stage needs one per rank (times the task's cores). */
    private static List<String> localSlots(SparkMaster master, ClusterShape shape, int ranks, int taskCpus, int gpus) {
        if (gpus > 0) {
            throw new UserError("--master " + master.url() + " cannot hand out GPUs to tasks; drop --gpus-per-node, or"
                    + " submit to a cluster master (spark://, yarn, k8s://) whose executors have GPUs");
        }
        if (shape.nodes() != 1) {
            throw new UserError("--nodes " + shape.nodes() + " with --master " + master.url() + ": local mode runs on this"
                    + " machine only; drop --nodes");
        }
        int needed = ranks * taskCpus;
        if (master.localThreads() > 0 && master.localThreads() < needed) {
            throw new UserError("--master " + master.url() + " has " + master.localThreads() + " task slots, but "
                    + ranks + " ranks of " + taskCpus + " cores (spark.task.cpus, from the recipe's threads) need " + needed
                    + " at once: use local[" + needed + "] or fewer --ranks-per-node");
        }
        return List.of();
    }

    /** Every path a rank reads or writes, resolved on its node: absolute, and local files (the trainer reads no URIs). */
    private static void checkPaths(TrainConfig cfg) {
        List<String> problems = new ArrayList<>();
        SparkSubmitLine.requireAbsolute("run_dir", cfg.runDir(), false, problems);
        for (String dir : cfg.data().dirs()) {
            SparkSubmitLine.requireAbsolute("data.dirs entry", dir, false, problems);
        }
        for (String dir : cfg.data().evalDirs()) {
            SparkSubmitLine.requireAbsolute("data.eval_dirs entry", dir, false, problems);
        }
        SparkSubmitLine.requireAbsolute("model.hf_dir", cfg.model().hfDir(), false, problems);
        SparkSubmitLine.requireAbsolute("model.tokenizer_dir", cfg.model().tokenizerDir(), false, problems);
        SparkSubmitLine.refusePaths(problems, TARGET);
    }

    private static String gpuNotes(SparkMaster master) {
        String discovery = switch (master.kind()) {
            case STANDALONE -> "Each worker must offer its GPUs: in its spark-defaults.conf or SPARK_WORKER_OPTS, set\n"
                    + "  spark.worker.resource.gpu.amount=<GPUs of the node>\n"
                    + "  spark.worker.resource.gpu.discoveryScript=$SPARK_HOME/examples/src/main/scripts/getGpusResources.sh\n";
            case YARN -> "YARN must schedule GPUs (yarn.io/gpu resource type, GPU isolation on the node managers); Spark\n"
                    + "then asks for them and needs no discovery script of its own.\n";
            case KUBERNETES -> "The image must hold a discovery script, named with\n"
                    + "  --conf spark.executor.resource.gpu.discoveryScript=/opt/spark/examples/src/main/scripts/getGpusResources.sh\n"
                    + "and --conf spark.executor.resource.gpu.vendor=nvidia.com on the spark-submit line.\n";
            case LOCAL -> throw new IllegalStateException("local masters are refused GPUs before this");
        };
        return "GPUs for submit --target spark\n\n"
                + "Each task (rank) asks for one GPU (spark.task.resource.gpu.amount=1) and trains on the GPU Spark assigned\n"
                + "it. " + discovery + "\n"
                + "DJL needs the CUDA build of libtorch 2.7.1 on every node (README, Running on GPU nodes): it downloads it on\n"
                + "first start where the node has network, or loads a local install, named for the ranks with\n"
                + "  --conf spark.executorEnv.PYTORCH_LIBRARY_PATH=/opt/libtorch/lib\n"
                + "  --conf spark.executorEnv.PYTORCH_VERSION=2.7.1 --conf spark.executorEnv.PYTORCH_FLAVOR=cu128\n"
                + "The ranks sum with NCCL (libnccl.so.2, 2.14 or newer, on every node).\n";
    }

    /** DJL's CPU libtorch jar, from the class path the build wrote; kept out of the cluster jar so GPU runs load CUDA's. */
    static Path cpuNatives(Path projectRoot) {
        Path classpath = projectRoot.resolve("launch/target/classpath.txt");
        try {
            String entries = Files.isRegularFile(classpath) ? Files.readString(classpath).trim() : "";
            return Arrays.stream(entries.split(java.io.File.pathSeparator))
                    .filter(e -> Path.of(e).getFileName().toString().startsWith("pytorch-native-cpu-")).map(Path::of)
                    .findFirst().orElseThrow(() -> new UserError("no DJL pytorch-native-cpu jar listed in " + classpath
                            + "; build it with mvn -B -pl launch -am package -DskipTests"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
