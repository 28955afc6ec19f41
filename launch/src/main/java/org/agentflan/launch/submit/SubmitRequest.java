package org.agentflan.launch.submit;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code agentflan submit} was asked to do: a target renders it into a {@link Submission}.
 *
 * @param config the recipe (a data config for spark-data, a train config otherwise), absolute
 * @param overrides the {@code --set} overrides, passed on unchanged to the command the job runs
 * @param shape the cluster's shape from the command line
 * @param projectRoot the agentflan checkout or install whose {@code scripts/agentflan} and jars the job runs, absolute
 * @param verbose {@code submit --verbose}: the Spark targets pass it on to their driver (INFO logging, stack traces)
 */
public record SubmitRequest(Path config, List<String> overrides, ClusterShape shape, Path projectRoot, boolean verbose) {
    /** A request without {@code --verbose}. */
    public SubmitRequest(Path config, List<String> overrides, ClusterShape shape, Path projectRoot) {
        this(config, overrides, shape, projectRoot, false);
    }
}
