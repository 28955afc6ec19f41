package org.agentflan.trainer.distributed;

import java.util.Map;
import java.util.Optional;

/**
 * A launcher's way of telling a process its rank: torchrun's environment variables ({@link TorchrunEnvironment}),
 * Slurm's ({@link SlurmEnvironment}), a Kubernetes Indexed Job's ({@link KubernetesIndexedJob}). Another launcher is
 * one more implementation, added to {@link RankSources#ENVIRONMENT} (or its assignment handed to {@code Train.Options}
 * directly, as a Spark barrier stage's task context would) without touching the training loop.
 */
public interface RankSource {
    /**
     * The assignment this launcher gave, or empty when its variables are absent (another launcher, or none). Variables
     * that are present but incomplete or malformed are an error naming them, never a silent single-process run.
     */
    Optional<RankAssignment> detect(Map<String, String> environment);
}
