package org.agentflan.launch.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.dataprep.prepare.DataConfig;
import org.agentflan.dataprep.prepare.PrepareJob;
import org.agentflan.dataprep.source.SourceSpec;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.launch.UserError;
import org.agentflan.launch.submit.ClusterShape;
import org.agentflan.launch.submit.SubmitRequest;
import org.agentflan.launch.submit.SubmitTarget;
import org.agentflan.launch.submit.Submission;

/**
 * {@code submit --target spark-data}: the data stage ({@link PrepareJob}) through spark-submit with data-prep's cluster
 * jar, which carries agentflan and the tokenizer libraries and leaves Spark to the cluster. The tokenizer travels with
 * {@code --files}, so executors on nodes without the checkout find it; sources and output must be absolute paths or
 * URIs every node reads. The stage is CPU-only: GPUs and ranks are refused.
 */
public final class SparkDataTarget implements SubmitTarget {
    static final String TARGET = "spark-data";
    private final Map<String, String> env;

    /** @param env the environment spark-submit is looked up in ({@code SPARK_HOME}); the process's own in use */
    public SparkDataTarget(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public Submission render(SubmitRequest request) {
        ClusterShape shape = request.shape();
        SparkMaster master = SparkMaster.parse(shape.master(), TARGET);
        if (shape.gpusPerNode() != 0) {
            throw new UserError("submit --target spark-data: the data stage runs on CPUs only; drop --gpus-per-node "
                    + shape.gpusPerNode());
        }
        if (shape.ranksPerNode() != null) {
            throw new UserError("submit --target spark-data: the data stage has no ranks (Spark spreads its tasks over the"
                    + " executors' cores); drop --ranks-per-node");
        }
        List<String> executors = switch (master.kind()) {
            // One executor per node; each takes the cores the cluster manager gives executors by default.
            case YARN, KUBERNETES -> List.of("--conf", "spark.executor.instances=" + shape.nodes());
            case LOCAL, STANDALONE -> {
                if (shape.nodes() != 1) {
                    throw new UserError("--nodes " + shape.nodes() + " has no meaning for --master " + master.url()
                            + (master.isLocal() ? ": local mode runs on this machine"
                            : ": a standalone master gives the job the free cores of all its workers")
                            + "; drop --nodes (it sets the executors on yarn and k8s masters)");
                }
                yield List.of();
            }
        };
        DataConfig cfg = DataConfig.load(request.config(), request.overrides());
        List<String> problems = new ArrayList<>();
        for (SourceSpec source : cfg.sources()) {
            SparkSubmitLine.requireAbsolute("sources '" + source.name() + "' path", source.path(), true, problems);
        }
        SparkSubmitLine.requireAbsolute("tokenizer", cfg.tokenizer(), false, problems);
        SparkSubmitLine.requireAbsolute("output", cfg.output(), true, problems);
        SparkSubmitLine.refusePaths(problems, TARGET);
        Path tokenizer = Path.of(cfg.tokenizer(), Llama2Tokenizer.FILE_NAME);
        if (!Files.isRegularFile(tokenizer)) {
            throw new UserError("tokenizer " + cfg.tokenizer() + " has no " + Llama2Tokenizer.FILE_NAME
                    + " to ship to the executors: set tokenizer to the folder of Llama-2's tokenizer.json");
        }

        List<String> command = SparkSubmitLine.start(env, master, PrepareJob.class.getName(), List.of("-Dai.djl.offline=true"));
        command.addAll(master.placement(shape, TARGET));
        command.addAll(executors);
        command.addAll(List.of("--files", tokenizer.toString()));
        command.add(SparkSubmitLine.clusterJar(request.projectRoot(), "data-prep").toString());
        command.addAll(List.of("--config", request.config().toString()));
        for (String override : request.overrides()) {
            command.addAll(List.of("--set", override));
        }
        if (request.verbose()) {
            command.add("--verbose");
        }
        Map<String, String> files = new LinkedHashMap<>();
        files.put(SparkSubmitLine.SCRIPT, SparkSubmitLine.script(command));
        return new Submission(files, command, "data stage " + shape.jobName() + " ran on " + master.url()
                + "; its corpus is in " + cfg.output());
    }
}
