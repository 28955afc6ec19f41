package org.agentflan.launch.submit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.agentflan.launch.UserError;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.distributed.KubernetesIndexedJob;

/**
 * {@code submit --target k8s}: training as a Kubernetes Indexed Job, one rank per pod, in one {@code job.yaml} for
 * {@code kubectl apply -f}:
 *
 * <ul>
 *   <li>a ConfigMap with the recipe, mounted at {@value #CONFIG_MOUNT}, so the pods read the very file given to
 *       {@code --config} (the {@code --set} overrides follow on the command line);</li>
 *   <li>a headless Service named like the Job, so that pod k is {@code <job>-k.<job>} in DNS and rank 0's store has a
 *       stable name ({@link KubernetesIndexedJob#storeHost});</li>
 *   <li>the Job: {@code completionMode: Indexed}, completions = parallelism = ranks, the rank source's variables, one
 *       GPU per pod ({@code nvidia.com/gpu: 1}) on GPUs, the {@code --volume} claim mounted and used as the working
 *       folder.</li>
 * </ul>
 *
 * <p>Preemption. A data-parallel job lives or dies whole: when one pod goes, the others exit 2 within seconds. So pods
 * never restart in place ({@code restartPolicy: Never}); the Job replaces each failed pod, every replacement meets the
 * others at pod 0's store again, and training resumes from the newest checkpoint in {@code run_dir} on the volume. The
 * pod failure policy keeps preemption from using up the retries (pods with the {@code DisruptionTarget} condition:
 * preemption, eviction, node drain, are ignored) and ends the Job at once on exit status 1 (the run diverged, or an
 * unexpected error with a stack trace: a retry would repeat either). Every other failure counts against {@code backoffLimit}, which allows {@value #RETRIES} crashes
 * of the whole job (each costs up to one failure per rank). A pod being stopped gets SIGTERM and
 * {@value #GRACE_SECONDS} s to finish its step and write a checkpoint.
 */
public final class KubernetesTarget implements SubmitTarget {
    static final String CONFIG_MOUNT = "/etc/agentflan";
    /** torchrun's default; every pod has its own address, so one fixed port never clashes. */
    static final int STORE_PORT = 29500;
    /** SIGTERM to SIGKILL: a step plus a checkpoint write of a 7B run (weights and AdamW moments, about 84 GB). */
    static final int GRACE_SECONDS = 600;
    /** Whole-job crashes the Job absorbs before it fails. */
    static final int RETRIES = 3;
    static final String CONTAINER = "train";
    static final String JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
    private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern CONFIG_KEY = Pattern.compile("[-._a-zA-Z0-9]+");
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES, YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS,
                    YAMLGenerator.Feature.LITERAL_BLOCK_STYLE, YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** {@code --volume CLAIM:PATH}. */
    record Volume(String claim, String mountPath) {
        static Volume parse(String option) {
            if (option == null) {
                throw new UserError("submit --target k8s needs --volume CLAIM:PATH: a ReadWriteMany PersistentVolumeClaim"
                        + " that every pod mounts at PATH and works in, so that checkpoints in run_dir survive a replaced"
                        + " pod (e.g. --volume agentflan-data:/data)");
            }
            int colon = option.indexOf(':');
            String claim = colon < 0 ? option : option.substring(0, colon);
            String path = colon < 0 ? "" : option.substring(colon + 1);
            if (claim.length() > 253 || !SUBDOMAIN.matcher(claim).matches()) {
                throw new UserError("--volume " + option + ": '" + claim + "' is not a PersistentVolumeClaim name (lowercase"
                        + " letters, digits, '-' and '.', at most 253 characters); write --volume CLAIM:PATH");
            }
            if (!path.startsWith("/") || Path.of(path).normalize().getNameCount() == 0) {
                throw new UserError("--volume " + option + ": the mount path must be an absolute folder other than /, e.g. "
                        + claim + ":/data");
            }
            return new Volume(claim, Path.of(path).normalize().toString());
        }
    }

    @Override
    public Submission render(SubmitRequest request) {
        ClusterShape shape = request.shape();
        refuseWhatDoesNotApply(shape);
        Volume volume = Volume.parse(shape.volume());
        int ranks = ranks(shape);
        String job = jobName(shape.jobName(), ranks);
        String namespace = shape.partition();
        if (namespace != null && !KubernetesIndexedJob.isLabel(namespace)) {
            throw new UserError("--partition " + namespace + " is the Kubernetes namespace here, and not a valid one"
                    + " (lowercase letters, digits and '-', at most 63 characters)");
        }
        if (shape.image() == null || shape.image().isBlank() || shape.image().chars().anyMatch(Character::isWhitespace)) {
            throw new UserError("submit --target k8s needs --image: a container image with Java 17 and agentflan built,"
                    + " with agentflan on its PATH (see README, 'Submit to Kubernetes')");
        }
        String configKey = request.config().getFileName().toString();
        if (!CONFIG_KEY.matcher(configKey).matches()) {
            throw new UserError("--config " + request.config() + ": the file name becomes a ConfigMap key, which allows only"
                    + " letters, digits, '-', '_' and '.'; rename the file");
        }
        requireRunDirOnVolume(TrainConfig.load(request.config(), request.overrides()), volume);

        List<ObjectNode> documents = List.of(
                configMap(job, namespace, configKey, read(request.config())),
                service(job, namespace),
                job(request, shape, job, namespace, ranks, volume, configKey));
        String yaml = header(job, ranks, shape, volume) + write(documents);
        // Every value the user gives reaches the YAML as a quoted scalar, so a failure here is a bug in this renderer.
        KubernetesSchema.read(yaml, "the rendered job.yaml");
        String ns = namespace == null ? "" : " -n " + namespace;
        return new Submission(Map.of("job.yaml", yaml), List.of("kubectl", "apply", "-f", "job.yaml"),
                "submitted Job " + job + " (" + ranks + " ranks" + (shape.gpusPerNode() > 0 ? ", one GPU each" : ", CPU")
                        + ")" + (namespace == null ? "" : " in namespace " + namespace) + "; follow it with: kubectl" + ns
                        + " logs -f -l " + JOB_NAME_LABEL + "=" + job + " --prefix --max-log-requests " + ranks);
    }

    private static void refuseWhatDoesNotApply(ClusterShape shape) {
        if (shape.master() != null) {
            throw new UserError("--master is a Spark master URL; the k8s target runs its ranks as pods of a Job, so drop"
                    + " --master (or use --target spark)");
        }
        if (shape.nodes() < 1) {
            throw new UserError("--nodes must be at least 1, got " + shape.nodes());
        }
        if (shape.gpusPerNode() < 0) {
            throw new UserError("--gpus-per-node must be 0 (CPU) or more, got " + shape.gpusPerNode());
        }
        if (shape.ranksPerNode() != null && shape.ranksPerNode() < 1) {
            throw new UserError("--ranks-per-node must be at least 1, got " + shape.ranksPerNode());
        }
    }

    /**
     * One rank per pod, pods = nodes x ranks per node. With GPUs each pod gets one, so the ranks per node are the GPUs
     * per node: any other number would leave GPUs idle or share one between ranks.
     */
    private static int ranks(ClusterShape shape) {
        int perNode;
        if (shape.gpusPerNode() > 0) {
            if (shape.ranksPerNode() != null && shape.ranksPerNode() != shape.gpusPerNode()) {
                throw new UserError("--ranks-per-node " + shape.ranksPerNode() + " with --gpus-per-node " + shape.gpusPerNode()
                        + ": on Kubernetes each rank is a pod with one GPU, so leave --ranks-per-node out (or make it "
                        + shape.gpusPerNode() + ")");
            }
            perNode = shape.gpusPerNode();
        } else {
            perNode = shape.ranksPerNode() == null ? 1 : shape.ranksPerNode();
        }
        return Math.multiplyExact(shape.nodes(), perNode);
    }

    /** The Job's name is also the Service's and, with "-k", each pod's hostname: an RFC 1123 label of 63 at most. */
    private static String jobName(String name, int ranks) {
        String lastHost = name + "-" + (ranks - 1);
        if (!KubernetesIndexedJob.isLabel(name) || !KubernetesIndexedJob.isLabel(lastHost)) {
            throw new UserError("--job-name " + name + " cannot name a Kubernetes Job of " + ranks + " pods: it must be"
                    + " lowercase letters, digits and '-', start with a letter or digit, and leave room for the pod"
                    + " hostname " + lastHost + " within 63 characters");
        }
        return name;
    }

    /**
     * Relative paths resolve in the pod's working folder, the volume's mount; a run_dir anywhere else would be lost with
     * its pod, and a replaced pod could not resume.
     */
    private static void requireRunDirOnVolume(TrainConfig config, Volume volume) {
        Path mount = Path.of(volume.mountPath());
        Path runDir = mount.resolve(config.runDir()).normalize();
        if (!runDir.startsWith(mount)) {
            throw new UserError("run_dir " + config.runDir() + " is not on the --volume mounted at " + mount + " (it is "
                    + runDir + " in the pods): checkpoints there would be lost with their pod; use a relative run_dir or"
                    + " one under " + mount + ", e.g. --set run_dir=" + mount.resolve("runs").resolve(Path.of(config.runDir())
                    .getFileName()));
        }
    }

    private static String read(Path config) {
        try {
            return Files.readString(config, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UserError("cannot read --config " + config + ": " + e.getMessage());
        }
    }

    private static String header(String job, int ranks, ClusterShape shape, Volume volume) {
        return "# agentflan submit --target k8s: " + ranks + " training ranks, one pod each"
                + (shape.gpusPerNode() > 0 ? " with one GPU" : " on CPU") + ".\n"
                + "# Pod k of Job " + job + " is rank k (JOB_COMPLETION_INDEX); rank 0 serves the store at " + job
                + "-0." + job + ":" + STORE_PORT + ".\n"
                + "# Pods work in " + volume.mountPath() + " (claim " + volume.claim() + "), where run_dir keeps the"
                + " checkpoints: a replaced pod resumes from them.\n"
                + "# Apply: kubectl apply -f job.yaml. Retry after a failure: kubectl delete job " + job
                + ", then apply again (it resumes).\n";
    }

    private static String write(List<ObjectNode> documents) {
        StringBuilder out = new StringBuilder();
        try {
            for (ObjectNode document : documents) {
                out.append(YAML.writeValueAsString(document));
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings and numbers always writes as YAML", e);
        }
        return out.toString();
    }

    private static ObjectNode configMap(String job, String namespace, String key, String content) {
        ObjectNode map = object("v1", "ConfigMap", job + "-config", namespace, job);
        map.putObject("data").put(key, content);
        return map;
    }

    /** Headless (no cluster IP): its DNS names are the pods' own addresses. Ready or not, so ranks meet while starting. */
    private static ObjectNode service(String job, String namespace) {
        ObjectNode service = object("v1", "Service", job, namespace, job);
        ObjectNode spec = service.putObject("spec");
        spec.put("clusterIP", "None");
        spec.put("publishNotReadyAddresses", true);
        spec.putObject("selector").put(JOB_NAME_LABEL, job);
        return service;
    }

    private static ObjectNode job(SubmitRequest request, ClusterShape shape, String job, String namespace, int ranks,
                                  Volume volume, String configKey) {
        ObjectNode root = object("batch/v1", "Job", job, namespace, job);
        ObjectNode spec = root.putObject("spec");
        spec.put("completionMode", "Indexed");
        spec.put("completions", ranks);
        spec.put("parallelism", ranks);
        spec.put("backoffLimit", RETRIES * ranks);
        if (shape.timeLimit() != null) {
            spec.put("activeDeadlineSeconds", shape.timeLimit().toSeconds());
        }
        ArrayNode rules = spec.putObject("podFailurePolicy").putArray("rules");
        ObjectNode disruption = rules.addObject().put("action", "Ignore");
        disruption.putArray("onPodConditions").addObject().put("type", "DisruptionTarget").put("status", "True");
        ObjectNode diverged = rules.addObject().put("action", "FailJob");
        ObjectNode codes = diverged.putObject("onExitCodes").put("containerName", CONTAINER).put("operator", "In");
        codes.putArray("values").add(1);

        ObjectNode template = spec.putObject("template");
        labels(template.putObject("metadata"), job);
        ObjectNode pod = template.putObject("spec");
        pod.put("subdomain", job);
        pod.put("restartPolicy", "Never");
        pod.put("terminationGracePeriodSeconds", GRACE_SECONDS);
        ObjectNode container = pod.putArray("containers").addObject();
        container.put("name", CONTAINER);
        container.put("image", shape.image());
        ArrayNode command = container.putArray("command");
        for (String word : command(request, configKey)) {
            command.add(word);
        }
        container.put("workingDir", volume.mountPath());
        ArrayNode env = container.putArray("env");
        Map<String, String> variables = new LinkedHashMap<>();
        variables.put(KubernetesIndexedJob.WORLD_SIZE, Integer.toString(ranks));
        variables.put(KubernetesIndexedJob.JOB, job);
        variables.put(KubernetesIndexedJob.SERVICE, job);
        variables.put(KubernetesIndexedJob.STORE_PORT, Integer.toString(STORE_PORT));
        variables.forEach((name, value) -> env.addObject().put("name", name).put("value", value));
        container.putArray("ports").addObject().put("name", "store").put("containerPort", STORE_PORT);
        if (shape.gpusPerNode() > 0) {
            container.putObject("resources").putObject("limits").put("nvidia.com/gpu", 1);
        }
        ArrayNode mounts = container.putArray("volumeMounts");
        mounts.addObject().put("name", "config").put("mountPath", CONFIG_MOUNT).put("readOnly", true);
        mounts.addObject().put("name", "work").put("mountPath", volume.mountPath());
        ArrayNode volumes = pod.putArray("volumes");
        volumes.addObject().put("name", "config").putObject("configMap").put("name", job + "-config");
        volumes.addObject().put("name", "work").putObject("persistentVolumeClaim").put("claimName", volume.claim());
        return root;
    }

    /** {@code agentflan train} on the mounted recipe, with the {@code --set} overrides as given. */
    private static List<String> command(SubmitRequest request, String configKey) {
        List<String> words = new ArrayList<>(List.of("agentflan", "train", "--config", CONFIG_MOUNT + "/" + configKey));
        for (String override : request.overrides()) {
            words.add("--set");
            words.add(override);
        }
        return words;
    }

    private static ObjectNode object(String apiVersion, String kind, String name, String namespace, String job) {
        ObjectNode node = NODES.objectNode();
        node.put("apiVersion", apiVersion);
        node.put("kind", kind);
        ObjectNode metadata = node.putObject("metadata");
        metadata.put("name", name);
        if (namespace != null) {
            metadata.put("namespace", namespace);
        }
        labels(metadata, job);
        return node;
    }

    private static void labels(ObjectNode metadata, String job) {
        metadata.putObject("labels").put("app.kubernetes.io/name", "agentflan").put("app.kubernetes.io/instance", job);
    }
}
