package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RankSourcesTest {
    private static Map<String, String> torchrun(int rank, int world, int local) {
        Map<String, String> env = new HashMap<>(Map.of("RANK", Integer.toString(rank), "WORLD_SIZE", Integer.toString(world),
                "LOCAL_RANK", Integer.toString(local), "MASTER_ADDR", "10.0.0.7", "MASTER_PORT", "29500"));
        env.put("PATH", "/usr/bin"); // unrelated variables do not matter
        return env;
    }

    @Test
    void noLauncherVariablesMeanOneProcess() {
        RankAssignment single = RankSources.fromEnvironment(Map.of("PATH", "/usr/bin", "MASTER_PORT", "29500"));
        assertTrue(single.isSingle());
        assertEquals(0, single.rank());
        assertEquals(0, single.localRank());
    }

    @Test
    void torchrunVariablesGiveRankWorldLocalRankAndTheStore() {
        RankAssignment a = RankSources.fromEnvironment(torchrun(5, 8, 1));
        assertEquals(5, a.rank());
        assertEquals(8, a.worldSize());
        assertEquals(1, a.localRank());
        assertEquals("10.0.0.7", a.storeHost());
        assertEquals(29500, a.storePort());
        assertEquals(false, a.isLoopback());
        assertTrue(a.describe().startsWith("rank 5 of 8 (local rank 1), store at 10.0.0.7:29500, from torchrun's environment"),
                a.describe());
    }

    @Test
    void incompleteOrMalformedVariablesAreNamed() {
        Map<String, String> env = torchrun(1, 2, 1);
        env.remove("LOCAL_RANK");
        env.remove("MASTER_PORT");
        DistributedException missing = assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(env));
        assertTrue(missing.getMessage().contains("LOCAL_RANK, MASTER_PORT are not set"), missing.getMessage());

        Map<String, String> bad = torchrun(1, 2, 1);
        bad.put("WORLD_SIZE", "two");
        assertEquals("WORLD_SIZE=two is not a whole number",
                assertThrows(DistributedException.class, () -> RankSources.fromEnvironment(bad)).getMessage());

        DistributedException outside = assertThrows(DistributedException.class,
                () -> RankSources.fromEnvironment(torchrun(2, 2, 0)));
        assertTrue(outside.getMessage().contains("rank 2 is outside world size 2 (the rank must be 0..1)"), outside.getMessage());
    }
}
