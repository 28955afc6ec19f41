package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KubernetesIndexedJobTest {
    /** What a pod of the Job that submit --target k8s renders sees, plus what Kubernetes adds. */
    private static Map<String, String> pod(int index, int completions) {
        Map<String, String> env = new HashMap<>();
        env.put("JOB_COMPLETION_INDEX", Integer.toString(index));
        env.put("AGENTFLAN_K8S_WORLD_SIZE", Integer.toString(completions));
        env.put("AGENTFLAN_K8S_JOB", "sft-7b");
        env.put("AGENTFLAN_K8S_SERVICE", "sft-7b-ranks");
        env.put("AGENTFLAN_K8S_STORE_PORT", "29500");
        env.put("HOSTNAME", "sft-7b-" + index);
        return env;
    }

    @Test
    void completionIndexIsTheRankAndPodZeroThroughTheServiceIsTheStore() {
        RankAssignment a = RankSources.fromEnvironment(pod(3, 8));
        assertEquals(3, a.rank());
        assertEquals(8, a.worldSize());
        assertEquals(0, a.localRank(), "one rank per pod: the pod's one GPU is cuda:0");
        assertEquals("sft-7b-0.sft-7b-ranks", a.storeHost());
        assertEquals(29500, a.storePort());
        assertFalse(a.isLoopback());
        assertTrue(a.describe().endsWith("from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, AGENTFLAN_K8S_WORLD_SIZE,"
                + " AGENTFLAN_K8S_JOB, AGENTFLAN_K8S_SERVICE, AGENTFLAN_K8S_STORE_PORT)"), a.describe());
    }

    @Test
    void anIndexedJobWithoutOurVariablesIsNotARankOfOne() {
        // A sweep as an indexed Job: every pod is its own single-process run.
        assertTrue(RankSources.fromEnvironment(Map.of("JOB_COMPLETION_INDEX", "4")).isSingle());
    }

    @Test
    void torchrunVariablesWinOverTheJobs() {
        Map<String, String> env = pod(3, 8);
        env.putAll(Map.of("RANK", "1", "WORLD_SIZE", "2", "LOCAL_RANK", "0", "MASTER_ADDR", "10.1.2.3", "MASTER_PORT", "29400"));
        RankAssignment a = RankSources.fromEnvironment(env);
        assertEquals(1, a.rank());
        assertEquals("10.1.2.3", a.storeHost());
    }

    @Test
    void missingVariablesAreNamed() {
        Map<String, String> env = pod(1, 2);
        env.remove("AGENTFLAN_K8S_SERVICE");
        env.put("AGENTFLAN_K8S_STORE_PORT", " ");
        DistributedException e = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(env));
        assertTrue(e.getMessage().contains("but AGENTFLAN_K8S_SERVICE, AGENTFLAN_K8S_STORE_PORT are not set"), e.getMessage());

        Map<String, String> notIndexed = pod(1, 2);
        notIndexed.remove("JOB_COMPLETION_INDEX");
        e = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(notIndexed));
        assertTrue(e.getMessage().contains("JOB_COMPLETION_INDEX is not set (Kubernetes sets JOB_COMPLETION_INDEX only in a"
                + " Job with completionMode: Indexed)"), e.getMessage());

        e = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(Map.of("AGENTFLAN_K8S_JOB", "x")));
        assertTrue(e.getMessage().startsWith("AGENTFLAN_K8S_JOB is set, so this pod is a rank of an agentflan Kubernetes job,"
                + " but JOB_COMPLETION_INDEX, AGENTFLAN_K8S_WORLD_SIZE, AGENTFLAN_K8S_SERVICE, AGENTFLAN_K8S_STORE_PORT are not"
                + " set"), e.getMessage());
    }

    @Test
    void malformedVariablesAreNamed() {
        Map<String, String> words = pod(1, 2);
        words.put("AGENTFLAN_K8S_WORLD_SIZE", "two");
        assertEquals("AGENTFLAN_K8S_WORLD_SIZE=two is not a whole number",
                assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(words)).getMessage());

        Map<String, String> upper = pod(1, 2);
        upper.put("AGENTFLAN_K8S_JOB", "SFT_7b");
        assertTrue(assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(upper)).getMessage()
                .startsWith("AGENTFLAN_K8S_JOB=SFT_7b is not a Kubernetes object name"));

        DistributedException outside = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(pod(2, 2)));
        assertTrue(outside.getMessage().contains("rank 2 is outside world size 2"), outside.getMessage());

        Map<String, String> port = pod(0, 2);
        port.put("AGENTFLAN_K8S_STORE_PORT", "70000");
        assertTrue(assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(port)).getMessage()
                .contains("needs the store's host and a port 1-65535, got sft-7b-0.sft-7b-ranks:70000"));
    }
}
