package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rendezvous checks, on a file store shared by threads standing in for ranks (the stores are tested alike). */
class RendezvousTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    @TempDir Path tmp;

    /** Joins ranks 0..n-1 concurrently, each with its own FileStore on one folder; returns each rank's error or null. */
    private List<String> joinAll(int world, String... hashes) throws Exception {
        List<CompletableFuture<String>> ranks = new ArrayList<>();
        for (int r = 0; r < hashes.length; r++) {
            int rank = r;
            ranks.add(CompletableFuture.supplyAsync(() -> {
                try (FileStore store = FileStore.open(tmp.resolve("store"))) {
                    Rendezvous.join(store, rank, world, hashes[rank], TIMEOUT);
                    return null;
                } catch (DistributedException e) {
                    return e.getMessage();
                }
            }));
        }
        List<String> errors = new ArrayList<>();
        for (CompletableFuture<String> f : ranks) {
            errors.add(f.get(60, TimeUnit.SECONDS));
        }
        return errors;
    }

    @Test
    void ranksWithTheSameConfigJoin() throws Exception {
        assertEquals(java.util.Arrays.asList(null, null, null), joinAll(3, "abc", "abc", "abc"));
    }

    @Test
    void aDifferentConfigHashStopsEveryRankNamingBothHashes() throws Exception {
        List<String> errors = joinAll(2, "1111aaaa", "2222bbbb");
        assertEquals("ranks were started with different configs: rank 1 has config hash 2222bbbb, rank 0 (this rank) has 1111aaaa;"
                + " start every rank with the same config", errors.get(0));
        assertEquals("ranks were started with different configs: rank 0 has config hash 1111aaaa, rank 1 (this rank) has 2222bbbb;"
                + " start every rank with the same config", errors.get(1));
    }

    @Test
    void aMissingRankIsNamedAfterTheTimeout() {
        try (FileStore store = FileStore.open(tmp.resolve("store"))) {
            DistributedException e = assertThrows(DistributedException.class,
                    () -> Rendezvous.join(store, 0, 3, "h", Duration.ofMillis(500)));
            assertEquals("rank 0: ranks 1, 2 did not join the " + store.describe()
                    + " within 0.5 s (not started, failed at start, or pointed at another store)", e.getMessage());
        }
    }

    @Test
    void aRankStartedTwiceOrALeftoverStoreIsRefused() throws Exception {
        joinAll(1, "h"); // an earlier launch, world size 1, left its keys in the folder
        try (FileStore store = FileStore.open(tmp.resolve("store"))) {
            DistributedException e = assertThrows(DistributedException.class, () -> Rendezvous.join(store, 0, 1, "h", TIMEOUT));
            assertTrue(e.getMessage().startsWith("rank 0 joined the " + store.describe() + " 2 times"), e.getMessage());
        }
    }

    @Test
    void ranksDisagreeingOnTheWorldSizeAreRefused() throws Exception {
        List<CompletableFuture<String>> ranks = new ArrayList<>();
        int[] worlds = {2, 3};
        for (int r = 0; r < 2; r++) {
            int rank = r;
            ranks.add(CompletableFuture.supplyAsync(() -> {
                try (FileStore store = FileStore.open(tmp.resolve("store"))) {
                    Rendezvous.join(store, rank, worlds[rank], "h", Duration.ofSeconds(2));
                    return null;
                } catch (DistributedException e) {
                    return e.getMessage();
                }
            }));
        }
        // Rank 0 (world 2) sees rank 1's world size 3; rank 1 waits for a rank 2 that never comes.
        assertEquals("ranks disagree on the world size: rank 1 was started with WORLD_SIZE=3, rank 0 (this rank) with 2",
                ranks.get(0).get(60, TimeUnit.SECONDS));
        assertTrue(ranks.get(1).get(60, TimeUnit.SECONDS).contains("rank 2 did not join"), ranks.get(1).get());
    }

    @Test
    void aRankOutsideTheWorldIsRefused() {
        try (FileStore store = FileStore.open(tmp.resolve("store"))) {
            DistributedException e = assertThrows(DistributedException.class, () -> Rendezvous.join(store, 2, 2, "h", TIMEOUT));
            assertEquals("rank 2 is outside world size 2 (RANK must be 0..1)", e.getMessage());
        }
    }

    @Test
    void worldSizeOneNeedsNoStoreAndLeavesBuffersAlone() throws ExecutionException {
        Collectives single = Collectives.open(Collectives.Backend.GLOO, null, 0, 1, "h", CollectiveOptions.loopback(TIMEOUT));
        assertTrue(single instanceof SingleRankCollectives);
        java.nio.ByteBuffer memory = java.nio.ByteBuffer.allocateDirect(8).order(java.nio.ByteOrder.nativeOrder());
        memory.putFloat(0, 3f).putFloat(4, 4f);
        CollectiveBuffer buffer = CollectiveBuffer.host(memory, ElementType.FLOAT32);
        single.allReduce(buffer);
        single.reduceScatter(buffer);
        single.allGather(buffer);
        single.broadcast(buffer, 0);
        single.barrier();
        assertEquals(3f, memory.getFloat(0));
        assertEquals(4f, memory.getFloat(4));
        assertThrows(DistributedException.class, () -> single.broadcast(buffer, 1));
    }
}
