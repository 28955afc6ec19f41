package org.agentflan.trainer.distributed;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Finds this process's rank among the launchers agentflan knows; no launcher means a single process. */
public final class RankSources {
    /**
     * Tried in order; the first that applies wins. torchrun comes first: its variables are explicit, so a user who
     * sets them inside a Kubernetes pod or a Slurm step (torchrun under srun) means them. Slurm's and Kubernetes'
     * variables never meet in one process.
     */
    static final List<RankSource> ENVIRONMENT = List.of(new TorchrunEnvironment(), new SlurmEnvironment(),
            new KubernetesIndexedJob());

    private RankSources() {}

    public static RankAssignment fromEnvironment(Map<String, String> environment) {
        for (RankSource source : ENVIRONMENT) {
            Optional<RankAssignment> found = source.detect(environment);
            if (found.isPresent()) {
                return found.get();
            }
        }
        return RankAssignment.single();
    }
}
