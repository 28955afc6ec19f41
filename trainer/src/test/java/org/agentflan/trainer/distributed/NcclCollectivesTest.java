package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Everything of the NCCL path up to the NCCL calls, which need a GPU: the library-missing error, the unique id's
 * trip through the store, and the refusal of host memory.
 */
class NcclCollectivesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    @TempDir Path tmp;

    @Test
    void aMissingNcclSaysWhatToInstall() {
        assumeTrue(NativeLibrary.packaged(NcclNative.LIBRARY), "skipped: this build has no NCCL shim (g++ was missing at build time)");
        DistributedException e = assertThrows(DistributedException.class, () -> NcclCollectives.loadNccl("/nonexistent/libnccl.so.2"));
        assertTrue(e.getMessage().startsWith("cannot load NCCL: /nonexistent/libnccl.so.2: cannot open shared object file"), e.getMessage());
        assertTrue(e.getMessage().contains("install NCCL 2.14 or newer") && e.getMessage().contains("AGENTFLAN_NCCL_LIBRARY"), e.getMessage());
    }

    @Test
    void rankZerosUniqueIdReachesTheOtherRankThroughTheTcpStore() throws Exception {
        byte[] id = new byte[NcclCollectives.UNIQUE_ID_BYTES];
        new Random(7).nextBytes(id);
        int port = MultiProcessCollectivesTest.freePort();
        try (TcpStore rank0 = TcpStore.open("127.0.0.1", port, 0, TIMEOUT); TcpStore rank1 = TcpStore.open("127.0.0.1", port, 1, TIMEOUT)) {
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(
                    () -> NcclCollectives.shareUniqueId(rank1, 1, () -> { throw new AssertionError("only rank 0 creates the id"); }, TIMEOUT));
            Thread.sleep(200); // rank 1 waits before rank 0 has published
            assertArrayEquals(id, NcclCollectives.shareUniqueId(rank0, 0, () -> id.clone(), TIMEOUT));
            assertArrayEquals(id, received.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void aTruncatedUniqueIdIsRefused() {
        try (FileStore store = FileStore.open(tmp.resolve("store"))) {
            store.set(NcclCollectives.UNIQUE_ID_KEY, new byte[5]);
            DistributedException e = assertThrows(DistributedException.class,
                    () -> NcclCollectives.shareUniqueId(store, 1, () -> null, TIMEOUT));
            assertTrue(e.getMessage().contains("has 5 bytes, expected 128"), e.getMessage());
        }
    }

    @Test
    void hostMemoryIsRefusedNamingTheDevice() {
        CollectiveBuffer host = CollectiveBuffer.host(ByteBuffer.allocateDirect(16), ElementType.FLOAT32);
        DistributedException e = assertThrows(DistributedException.class, () -> NcclCollectives.requireOnDevice(host, 0));
        assertTrue(e.getMessage().startsWith("NCCL on cuda:0 needs tensors on that device; this buffer holds 4 float32 elements on the CPU"),
                e.getMessage());
    }
}
