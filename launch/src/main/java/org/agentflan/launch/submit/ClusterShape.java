package org.agentflan.launch.submit;

import java.time.Duration;

/**
 * The cluster's shape and place, as {@code agentflan submit} options give it. A field a target does not use is null
 * (or 0); a target refuses a field it cannot honour (GPUs on a CPU-only target) rather than ignoring it.
 *
 * @param nodes machines ({@code --nodes}, default 1)
 * @param ranksPerNode training processes per machine ({@code --ranks-per-node}); null = one per GPU, or 1 without GPUs
 * @param gpusPerNode GPUs per machine ({@code --gpus-per-node}); 0 = a CPU job
 * @param partition Slurm partition, YARN queue or Kubernetes namespace ({@code --partition})
 * @param timeLimit the job's wall-clock limit ({@code --time}); null = the scheduler's default
 * @param image container image ({@code --image}, Kubernetes)
 * @param master Spark master URL ({@code --master}: local[*], spark://, yarn, k8s://)
 * @param jobName the scheduler's job name ({@code --job-name}, default agentflan-&lt;target&gt;)
 * @param volume shared storage for the pods, {@code CLAIM:PATH} ({@code --volume}, Kubernetes): a PersistentVolumeClaim
 *     mounted at PATH in every pod; null when not given
 * @param signalLead how long before the time limit Slurm warns the ranks to checkpoint ({@code --signal-lead}); null =
 *     the target's default
 */
public record ClusterShape(int nodes, Integer ranksPerNode, int gpusPerNode, String partition, Duration timeLimit,
                           String image, String master, String jobName, String volume, Duration signalLead) {}
