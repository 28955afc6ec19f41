package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.PodFailurePolicyRule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.launch.submit.KubernetesSchema;
import org.agentflan.trainer.distributed.KubernetesIndexedJob;
import org.agentflan.trainer.distributed.RankAssignment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code submit --target k8s}: the rendered job.yaml, read back through Kubernetes' model classes with unknown fields
 * rejected, checked field by field for a GPU and a CPU job; the refusals; and the strict reader itself. No cluster runs
 * here: what Kubernetes does with the Job is not tested.
 */
class SubmitKubernetesTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String CONFIG = ROOT.resolve("configs/train/tiny.yaml").toString();

    @TempDir Path temp;

    private List<String> args(String... extra) {
        List<String> args = new ArrayList<>(List.of("submit", "--target", "k8s", "--config", CONFIG, "--image",
                "registry.example/agentflan:0.1", "--volume", "agentflan-data:/data", "--out", temp.resolve("out").toString(),
                "--dry-run"));
        args.addAll(List.of(extra));
        return args;
    }

    /** The dry run's job.yaml, read strictly. */
    private List<HasMetadata> render(String... extra) {
        CliRun run = CliRun.of(args(extra).toArray(String[]::new));
        assertEquals(0, run.code(), run.err());
        String[] parts = run.out().split("# would run in [^\n]*:\n", 2);
        assertTrue(parts[0].startsWith("# " + temp.resolve("out").resolve("job.yaml") + "\n"), run.out());
        assertEquals("kubectl apply -f job.yaml\n", parts[1]);
        assertFalse(Files.exists(temp.resolve("out")), "--dry-run writes nothing");
        return KubernetesSchema.read(parts[0].substring(parts[0].indexOf('\n') + 1), "job.yaml");
    }

    private static Container container(Job job) {
        List<Container> containers = job.getSpec().getTemplate().getSpec().getContainers();
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    private static Map<String, String> env(Container container) {
        Map<String, String> env = new HashMap<>();
        for (EnvVar variable : container.getEnv()) {
            assertNull(variable.getValueFrom(), variable.getName());
            env.put(variable.getName(), variable.getValue());
        }
        return env;
    }

    @Test
    void gpuJobIsAnIndexedJobOfOnePodPerGpuBehindAHeadlessService() throws Exception {
        List<HasMetadata> objects = render("--nodes", "2", "--gpus-per-node", "8", "--partition", "ml-team",
                "--time", "2-00:00:00", "--job-name", "sft-7b", "--set", "optimizer.lr=1e-5", "--set", "run_dir=runs/sft-7b");
        assertEquals(List.of("ConfigMap", "Service", "Job"), objects.stream().map(HasMetadata::getKind).toList());
        for (HasMetadata object : objects) {
            assertEquals("ml-team", object.getMetadata().getNamespace(), object.getKind());
            assertEquals("sft-7b", object.getMetadata().getLabels().get("app.kubernetes.io/instance"), object.getKind());
        }

        ConfigMap config = (ConfigMap) objects.get(0);
        assertEquals("sft-7b-config", config.getMetadata().getName());
        assertEquals(Map.of("tiny.yaml", Files.readString(Path.of(CONFIG))), config.getData(), "the recipe, byte for byte");

        Service service = (Service) objects.get(1);
        assertEquals("sft-7b", service.getMetadata().getName());
        assertEquals("None", service.getSpec().getClusterIP(), "headless: pod names resolve to pod addresses");
        assertTrue(service.getSpec().getPublishNotReadyAddresses());
        assertEquals(Map.of("batch.kubernetes.io/job-name", "sft-7b"), service.getSpec().getSelector());

        Job job = (Job) objects.get(2);
        assertEquals("sft-7b", job.getMetadata().getName());
        JobSpec spec = job.getSpec();
        assertEquals("Indexed", spec.getCompletionMode());
        assertEquals(16, spec.getCompletions());
        assertEquals(16, spec.getParallelism());
        assertEquals(3 * 16, spec.getBackoffLimit());
        assertEquals(2 * 24 * 3600L, spec.getActiveDeadlineSeconds());
        List<PodFailurePolicyRule> rules = spec.getPodFailurePolicy().getRules();
        assertEquals("Ignore", rules.get(0).getAction());
        assertEquals("DisruptionTarget", rules.get(0).getOnPodConditions().get(0).getType());
        assertEquals("FailJob", rules.get(1).getAction());
        assertEquals(List.of(1), rules.get(1).getOnExitCodes().getValues());
        assertEquals("train", rules.get(1).getOnExitCodes().getContainerName());

        PodSpec pod = spec.getTemplate().getSpec();
        assertEquals("sft-7b", pod.getSubdomain(), "the Service's name, so pod k is sft-7b-k.sft-7b");
        assertEquals("Never", pod.getRestartPolicy(), "a podFailurePolicy needs it; the Job replaces failed pods");
        assertEquals(600L, pod.getTerminationGracePeriodSeconds());
        Container train = container(job);
        assertEquals("registry.example/agentflan:0.1", train.getImage());
        assertEquals(List.of("agentflan", "train", "--config", "/etc/agentflan/tiny.yaml", "--set", "optimizer.lr=1e-5",
                "--set", "run_dir=runs/sft-7b"), train.getCommand());
        assertEquals("/data", train.getWorkingDir());
        assertEquals(Map.of("AGENTFLAN_K8S_WORLD_SIZE", "16", "AGENTFLAN_K8S_JOB", "sft-7b", "AGENTFLAN_K8S_SERVICE", "sft-7b",
                "AGENTFLAN_K8S_STORE_PORT", "29500"), env(train));
        assertEquals(Map.of("nvidia.com/gpu", new Quantity("1")), train.getResources().getLimits());
        assertEquals(29500, train.getPorts().get(0).getContainerPort());
        assertEquals(List.of("/etc/agentflan", "/data"), train.getVolumeMounts().stream().map(m -> m.getMountPath()).toList());
        assertEquals("sft-7b-config", pod.getVolumes().get(0).getConfigMap().getName());
        assertEquals("agentflan-data", pod.getVolumes().get(1).getPersistentVolumeClaim().getClaimName());
    }

    @Test
    void cpuJobHasNoGpuRequestAndRanksPerNodeSetTheWorldSize() {
        List<HasMetadata> objects = render("--nodes", "2", "--ranks-per-node", "2");
        for (HasMetadata object : objects) {
            assertNull(object.getMetadata().getNamespace(), "no --partition: kubectl's current namespace");
        }
        Job job = (Job) objects.get(2);
        assertEquals("agentflan-k8s", job.getMetadata().getName());
        assertEquals(4, job.getSpec().getCompletions());
        assertEquals(4, job.getSpec().getParallelism());
        assertNull(job.getSpec().getActiveDeadlineSeconds(), "no --time: no deadline");
        Container train = container(job);
        assertNull(train.getResources(), "no GPU request on CPU");
        assertEquals(List.of("agentflan", "train", "--config", "/etc/agentflan/tiny.yaml"), train.getCommand());
        assertEquals("4", env(train).get("AGENTFLAN_K8S_WORLD_SIZE"));
    }

    @Test
    void podsOfTheRenderedJobFindTheirRankAndPodZerosStore() {
        Job job = (Job) render("--nodes", "3", "--gpus-per-node", "1", "--job-name", "sft").get(2);
        Map<String, String> env = env(container(job));
        env.put("JOB_COMPLETION_INDEX", "2"); // what Kubernetes adds to pod 2 of an Indexed Job
        RankAssignment rank = new KubernetesIndexedJob().detect(env).orElseThrow();
        assertEquals(2, rank.rank());
        assertEquals(3, rank.worldSize());
        assertEquals(0, rank.localRank());
        // Pod 0's hostname is <job>-0 and its subdomain the Service: that name is where rank 0 serves the store.
        assertEquals(job.getMetadata().getName() + "-0." + job.getSpec().getTemplate().getSpec().getSubdomain(), rank.storeHost());
        assertEquals(container(job).getPorts().get(0).getContainerPort(), rank.storePort());
    }

    @Test
    void whatTheTargetCannotHonourIsRefusedWithWhatToChange() {
        assertRefused("submit --target k8s needs --image", "submit", "--target", "k8s", "--config", CONFIG, "--volume",
                "agentflan-data:/data", "--dry-run");
        assertRefused("submit --target k8s needs --volume CLAIM:PATH", "submit", "--target", "k8s", "--config", CONFIG,
                "--image", "x", "--dry-run");
        assertRefused("--master is a Spark master URL", args("--master", "spark://h:7077").toArray(String[]::new));
        assertRefused("on Kubernetes each rank is a pod with one GPU, so leave --ranks-per-node out (or make it 8)",
                args("--gpus-per-node", "8", "--ranks-per-node", "2").toArray(String[]::new));
        assertRefused("--job-name SFT_7b cannot name a Kubernetes Job of 1 pods", args("--job-name", "SFT_7b").toArray(String[]::new));
        String long61 = "a".repeat(61); // a valid name, but pod 15's hostname would be 64 characters
        assertRefused("leave room for the pod hostname " + long61 + "-15 within 63 characters",
                args("--job-name", long61, "--nodes", "2", "--gpus-per-node", "8").toArray(String[]::new));
        assertRefused("--partition Team is the Kubernetes namespace here, and not a valid one",
                args("--partition", "Team").toArray(String[]::new));
        List<String> noPath = args();
        noPath.set(noPath.indexOf("agentflan-data:/data"), "agentflan-data");
        assertRefused("the mount path must be an absolute folder other than /", noPath.toArray(String[]::new));
        assertRefused("run_dir /scratch/runs/tiny is not on the --volume mounted at /data (it is /scratch/runs/tiny in the"
                + " pods): checkpoints there would be lost with their pod; use a relative run_dir or one under /data, e.g."
                + " --set run_dir=/data/runs/tiny", args("--set", "run_dir=/scratch/runs/tiny").toArray(String[]::new));
        assertRefused("run_dir ../runs", args("--set", "run_dir=../runs").toArray(String[]::new));
        // The recipe is loaded as train would load it, so a bad key fails here rather than in every pod.
        assertRefused("unknown key 'optimizer.learning_rate'", args("--set", "optimizer.learning_rate=1").toArray(String[]::new));
    }

    private void assertRefused(String expected, String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(2, run.code(), run.out() + run.err());
        assertTrue(run.err().startsWith("error: "), run.err());
        assertTrue(run.err().contains(expected), run.err());
        assertFalse(Files.exists(temp.resolve("out")));
    }

    /** The strict reader must catch what kubectl would reject or drop; the first document is valid, as a control. */
    @Test
    void strictReaderRejectsMisspelledFieldsWrongKindsAndUnknownObjects() {
        String valid = """
                apiVersion: batch/v1
                kind: Job
                metadata: {name: j}
                spec:
                  completionMode: Indexed
                  completions: 2
                  template:
                    spec:
                      restartPolicy: Never
                      containers:
                      - name: train
                        image: i
                        env:
                        - {name: AGENTFLAN_K8S_STORE_PORT, value: "29500"}
                """;
        Job job = (Job) KubernetesSchema.read(valid, "job.yaml").get(0);
        assertEquals(2, job.getSpec().getCompletions());

        KubernetesSchema.InvalidManifest misspelled = assertThrows(KubernetesSchema.InvalidManifest.class,
                () -> KubernetesSchema.read(valid.replace("completionMode", "completionMod"), "job.yaml"));
        assertTrue(misspelled.getMessage().startsWith("job.yaml document 1 (Job): Unrecognized property \"completionMod\""),
                misspelled.getMessage());
        assertTrue(misspelled.getMessage().endsWith("at spec.completionMod"), misspelled.getMessage());

        KubernetesSchema.InvalidManifest deep = assertThrows(KubernetesSchema.InvalidManifest.class,
                () -> KubernetesSchema.read(valid.replace("image: i", "image: i\n        resource: {limits: {nvidia.com/gpu: 1}}"), "job.yaml"));
        assertTrue(deep.getMessage().endsWith("at spec.template.spec.containers[0].resource"), deep.getMessage());

        KubernetesSchema.InvalidManifest number = assertThrows(KubernetesSchema.InvalidManifest.class,
                () -> KubernetesSchema.read(valid.replace("value: \"29500\"", "value: 29500"), "job.yaml"));
        assertTrue(number.getMessage().endsWith("at spec.template.spec.containers[0].env[0].value"), number.getMessage());

        KubernetesSchema.InvalidManifest text = assertThrows(KubernetesSchema.InvalidManifest.class,
                () -> KubernetesSchema.read(valid.replace("completions: 2", "completions: \"2\""), "job.yaml"));
        assertTrue(text.getMessage().endsWith("at spec.completions"), text.getMessage());

        KubernetesSchema.InvalidManifest kind = assertThrows(KubernetesSchema.InvalidManifest.class,
                () -> KubernetesSchema.read(valid + "---\napiVersion: apps/v1\nkind: Deployment\n", "job.yaml"));
        assertEquals("job.yaml document 2: apiVersion 'apps/v1' kind 'Deployment' is not one of [batch/v1/Job, v1/ConfigMap,"
                + " v1/Service]", kind.getMessage());
    }
}
