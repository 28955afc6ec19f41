package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Slurm's variables through {@link RankSources#fromEnvironment}, as srun sets them in a task (the sets below are those
 * measured in a task of {@code srun -n2} and in an sbatch script's shell on the loopback cluster of SlurmTrainIT).
 */
class SlurmEnvironmentTest {
    /** Task {@code procid} of an srun step of {@code ntasks} tasks in job 123456 on gpu[01-04,07]. */
    private static Map<String, String> task(int procid, int ntasks, int localid) {
        Map<String, String> env = new HashMap<>(Map.of("SLURM_PROCID", Integer.toString(procid),
                "SLURM_NTASKS", Integer.toString(ntasks), "SLURM_LOCALID", Integer.toString(localid),
                "SLURM_JOB_ID", "123456", "SLURM_STEP_ID", "0", "SLURM_STEPID", "0",
                "SLURM_JOB_NODELIST", "gpu[01-04,07]", "SLURM_STEP_NODELIST", "gpu[01-04,07]", "SLURM_NODEID", "0"));
        env.put("PATH", "/usr/bin");
        return env;
    }

    @Test
    void aTaskGetsItsRankAndEveryTaskTheSameStore() {
        for (int procid = 0; procid < 8; procid++) {
            RankAssignment a = RankSources.fromEnvironment(task(procid, 8, procid % 4));
            assertEquals(procid, a.rank());
            assertEquals(8, a.worldSize());
            assertEquals(procid % 4, a.localRank());
            assertEquals("gpu01", a.storeHost());
            assertEquals(15000 + 123456 % 15000, a.storePort()); // 18456, whichever task computes it
        }
        RankAssignment one = RankSources.fromEnvironment(task(1, 8, 1));
        assertEquals("rank 1 of 8 (local rank 1), store at gpu01:18456, from Slurm's environment (job 123456, step 0,"
                + " restart 0)", one.describe());
        assertEquals(false, one.isLoopback());
    }

    @Test
    void theStepsNodesComeBeforeTheJobsAndTheRestartCountIsShown() {
        Map<String, String> env = task(0, 2, 0);
        env.put("SLURM_STEP_NODELIST", "gpu[04,07]"); // a step on part of the job's nodes: task 0 runs on gpu04
        env.put("SLURM_RESTART_COUNT", "3");
        RankAssignment a = RankSources.fromEnvironment(env);
        assertEquals("gpu04", a.storeHost());
        assertTrue(a.describe().endsWith("from Slurm's environment (job 123456, step 0, restart 3)"), a.describe());

        env.remove("SLURM_STEP_NODELIST");
        assertEquals("gpu01", RankSources.fromEnvironment(env).storeHost());
    }

    @Test
    void masterAddrAndPortReplaceTheDerivedStore() {
        Map<String, String> env = task(1, 2, 1);
        env.put("MASTER_PORT", "29511");
        assertEquals(29511, RankSources.fromEnvironment(env).storePort());
        assertEquals("gpu01", RankSources.fromEnvironment(env).storeHost());
        env.put("MASTER_ADDR", "10.1.2.3");
        assertEquals("10.1.2.3", RankSources.fromEnvironment(env).storeHost());
    }

    @Test
    void torchrunVariablesWinOverSlurms() {
        Map<String, String> env = task(3, 8, 3);
        env.putAll(Map.of("RANK", "0", "WORLD_SIZE", "2", "LOCAL_RANK", "0", "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500"));
        RankAssignment a = RankSources.fromEnvironment(env);
        assertEquals(0, a.rank());
        assertEquals(2, a.worldSize());
        assertTrue(a.describe().contains("from torchrun's environment"), a.describe());
    }

    @Test
    void anSbatchShellOrAnSallocShellIsOneProcess() {
        // The batch script's shell: SLURM_PROCID=0 and SLURM_NTASKS=2, but no step.
        Map<String, String> batch = task(0, 2, 0);
        batch.remove("SLURM_STEP_ID");
        batch.remove("SLURM_STEPID");
        batch.remove("SLURM_STEP_NODELIST");
        assertTrue(RankSources.fromEnvironment(batch).isSingle());
        // salloc's shell: the job's id, nodes and task count only.
        assertTrue(RankSources.fromEnvironment(Map.of("SLURM_JOB_ID", "3", "SLURM_JOB_NODELIST", "localhost",
                "SLURM_NTASKS", "2")).isSingle());
    }

    @Test
    void missingOrMalformedVariablesAreNamed() {
        Map<String, String> env = task(1, 2, 1);
        env.remove("SLURM_LOCALID");
        env.remove("SLURM_STEP_NODELIST");
        env.remove("SLURM_JOB_NODELIST");
        DistributedException missing = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(env));
        assertTrue(missing.getMessage().contains("SLURM_LOCALID, SLURM_STEP_NODELIST or SLURM_JOB_NODELIST are not set"),
                missing.getMessage());

        Map<String, String> words = task(1, 2, 1);
        words.put("SLURM_NTASKS", "two");
        assertEquals("SLURM_NTASKS=two is not a whole number from 0 to 2147483647",
                assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(words)).getMessage());

        Map<String, String> port = task(1, 2, 1);
        port.put("MASTER_PORT", "70000");
        assertEquals("MASTER_PORT=70000 is not a whole number from 0 to 65535",
                assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(port)).getMessage());

        Map<String, String> restarts = task(1, 2, 1);
        restarts.put("SLURM_RESTART_COUNT", "-1");
        assertTrue(assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(restarts)).getMessage()
                .startsWith("SLURM_RESTART_COUNT=-1 is not a whole number"));

        Map<String, String> nodes = task(1, 2, 1);
        nodes.put("SLURM_STEP_NODELIST", "gpu[04-01]");
        assertEquals("SLURM_STEP_NODELIST=gpu[04-01] is not a Slurm host list: 'gpu[04-01]' has the range 04-01, which"
                + " runs backwards", assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(nodes)).getMessage());

        DistributedException outside = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(task(2, 2, 0)));
        assertTrue(outside.getMessage().startsWith("Slurm's environment (job 123456, step 0, restart 0): rank 2 is outside"
                + " world size 2"), outside.getMessage());
    }
}
