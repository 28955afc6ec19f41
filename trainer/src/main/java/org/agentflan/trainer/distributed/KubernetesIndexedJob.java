package org.agentflan.trainer.distributed;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A pod of a Kubernetes Indexed Job, as {@code agentflan submit --target k8s} renders it: one rank per pod.
 *
 * <ul>
 *   <li>rank: {@code JOB_COMPLETION_INDEX}, which Kubernetes sets in every pod of a Job with
 *       {@code completionMode: Indexed};</li>
 *   <li>world size: {@code AGENTFLAN_K8S_WORLD_SIZE}, the Job's {@code completions} (a pod cannot read its Job's spec
 *       through the downward API, so the rendered Job writes it into the environment);</li>
 *   <li>store: rank 0's pod. An indexed pod's hostname is {@code <job>-<index>}, and with {@code subdomain} set to a
 *       headless Service it resolves as {@code <job>-<index>.<service>} inside the namespace. So the store host is
 *       {@code AGENTFLAN_K8S_JOB + "-0." + AGENTFLAN_K8S_SERVICE}, stable across a replaced pod 0, and the port is
 *       {@code AGENTFLAN_K8S_STORE_PORT};</li>
 *   <li>local rank: always 0. Each pod is one rank, and the NVIDIA device plugin shows a pod only the GPU it was
 *       given, as {@code cuda:0}.</li>
 * </ul>
 *
 * It applies when any {@code AGENTFLAN_K8S_*} variable is set; then all of them and {@code JOB_COMPLETION_INDEX} are
 * required. {@code JOB_COMPLETION_INDEX} alone does not apply it: an indexed Job of independent single-process runs
 * (a sweep) sets it too.
 */
public final class KubernetesIndexedJob implements RankSource {
    public static final String INDEX = "JOB_COMPLETION_INDEX";
    public static final String WORLD_SIZE = "AGENTFLAN_K8S_WORLD_SIZE";
    public static final String JOB = "AGENTFLAN_K8S_JOB";
    public static final String SERVICE = "AGENTFLAN_K8S_SERVICE";
    public static final String STORE_PORT = "AGENTFLAN_K8S_STORE_PORT";
    static final List<String> OURS = List.of(WORLD_SIZE, JOB, SERVICE, STORE_PORT);
    private static final String SOURCE = "a Kubernetes Indexed Job (" + INDEX + ", " + String.join(", ", OURS) + ")";
    /** RFC 1123 label, as Kubernetes requires of Job and Service names (and of the hostname {@code <job>-<index>}). */
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    @Override
    public Optional<RankAssignment> detect(Map<String, String> env) {
        if (OURS.stream().noneMatch(env::containsKey)) {
            return Optional.empty();
        }
        List<String> missing = new ArrayList<>();
        List<String> required = new ArrayList<>(List.of(INDEX));
        required.addAll(OURS);
        for (String name : required) {
            if (env.get(name) == null || env.get(name).isBlank()) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            String hint = missing.contains(INDEX)
                    ? " (Kubernetes sets " + INDEX + " only in a Job with completionMode: Indexed)"
                    : " (the Job agentflan submit --target k8s renders sets all of them)";
            List<String> present = OURS.stream().filter(env::containsKey).toList();
            throw new DistributedException(String.join(", ", present) + (present.size() == 1 ? " is" : " are")
                    + " set, so this pod is a rank of an agentflan Kubernetes job, but " + String.join(", ", missing)
                    + (missing.size() == 1 ? " is" : " are") + " not set" + hint);
        }
        String job = label(env, JOB);
        String service = label(env, SERVICE);
        int rank = TorchrunEnvironment.number(env, INDEX);
        int worldSize = TorchrunEnvironment.number(env, WORLD_SIZE);
        return Optional.of(new RankAssignment(rank, worldSize, 0, storeHost(job, service),
                TorchrunEnvironment.number(env, STORE_PORT), SOURCE));
    }

    /** Pod 0's name through the headless Service, resolvable from every pod of the namespace. */
    public static String storeHost(String job, String service) {
        return job + "-0." + service;
    }

    /** Whether {@code name} is an RFC 1123 label: what Kubernetes accepts as a Job, Service or namespace name. */
    public static boolean isLabel(String name) {
        return DNS_LABEL.matcher(name).matches();
    }

    private static String label(Map<String, String> env, String name) {
        String value = env.get(name).trim();
        if (!isLabel(value)) {
            throw new DistributedException(name + "=" + value + " is not a Kubernetes object name (lowercase letters,"
                    + " digits and '-', starting and ending with a letter or digit, at most 63 characters)");
        }
        return value;
    }
}
