package org.agentflan.launch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.agentflan.dataprep.prepare.DataConfig;
import org.agentflan.dataprep.prepare.PrepareJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan prepare}: the Spark data stage. */
@Command(name = "prepare",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Builds the tokenized training corpus from its sources with Spark.",
        description = {"Builds the Agent-FLAN training corpus with Spark: reads the configured sources, applies the",
            "Agent-FLAN transforms, renders and tokenizes every sample, and writes <output>/shards/*.parquet,",
            "<output>/rejects/ and <output>/manifest.json (written last), beside any previous corpus, which is",
            "replaced only when the new one is complete. Runs on an embedded local[*] Spark",
            "unless spark.master is set; for a cluster, submit data-prep's -cluster jar with spark-submit."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan prepare --config configs/data/sample.yaml",
            "  scripts/agentflan prepare --config configs/data/agent-flan.yaml \\",
            "      --set output=/data/af --set seed=7"})
public final class PrepareCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "Data config YAML (see configs/data/).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a config key, e.g. --set output=work/data/x --set seed=7 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() {
        InputPaths.file("--config", config, "a data recipe, e.g. configs/data/sample.yaml");
        DataConfig cfg = DataConfig.load(config, overrides);
        try {
            PrepareJob.preflight(cfg);
        } catch (IllegalArgumentException e) {
            throw new UserError("cannot start prepare: " + e.getMessage() + "; fix the config (or its --set) and run"
                    + " again");
        }
        try {
            System.out.println(PrepareJob.summary(PrepareJob.run(cfg)));
        } catch (PrepareJob.Failed e) {
            throw new UserError(e.getMessage(), e);
        }
        return 0;
    }
}
