package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ranks in separate JVMs on 127.0.0.1 ({@link CollectivesChildMain}) run Gloo collectives on DJL tensors through the
 * TCP store and the file store, refuse to start with different config hashes, fail within the timeout when a peer
 * never calls, and fail naming the lost rank after a peer's SIGKILL (no hang).
 */
class MultiProcessCollectivesTest {
    private static final int TIMEOUT_S = 20;
    @TempDir Path tmp;

    @BeforeAll
    static void needsTheGlooShim() {
        String reason = GlooCollectives.unavailableReason();
        assumeTrue(reason == null, () -> "skipped: " + reason);
    }

    /** Three ranks through the TCP store (Gloo's reduce-scatter takes its non-power-of-two path), two through the file store. */
    @ParameterizedTest
    @ValueSource(strings = {"tcp", "file"})
    void ranksComputeKnownSums(String storeKind) throws Exception {
        boolean tcp = storeKind.equals("tcp");
        String store = tcp ? "tcp:127.0.0.1:" + freePort() : "file:" + tmp.resolve("store");
        List<Process> ranks = tcp ? start("ops", store, TIMEOUT_S, "same-hash", "same-hash", "same-hash")
                : start("ops", store, TIMEOUT_S, "same-hash", "same-hash");
        for (int r = 0; r < ranks.size(); r++) {
            String out = finish(ranks.get(r), r);
            assertEquals(0, ranks.get(r).exitValue(), out);
            for (String op : List.of("allReduce float32", "allReduce float16", "reduceScatter", "allGather", "broadcast",
                    "allReduce direct buffer", "barrier")) {
                assertTrue(out.contains("ok " + op + "\n"), "rank " + r + " did not pass " + op + ":\n" + out);
            }
        }
    }

    @Test
    void ranksWithDifferentConfigsRefuseToStart() throws Exception {
        List<Process> ranks = start("join", "tcp:127.0.0.1:" + freePort(), TIMEOUT_S, "hash-of-config-a", "hash-of-config-b");
        for (int r = 0; r < 2; r++) {
            String out = finish(ranks.get(r), r);
            assertEquals(3, ranks.get(r).exitValue(), out);
            assertTrue(out.contains("FAILED: ranks were started with different configs"), out);
            assertTrue(out.contains("hash-of-config-a") && out.contains("hash-of-config-b"), "both hashes named:\n" + out);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 0})
    void aPeerKilledMidCollectiveMakesTheSurvivorFailNamingIt(int victim) throws Exception {
        int survivor = 1 - victim;
        List<Process> ranks = start("loop", "tcp:127.0.0.1:" + freePort(), TIMEOUT_S, "h", "h");
        Path survivorLog = log(survivor);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.readString(log(victim)).contains("iteration 40") && System.nanoTime() < deadline) {
            assertTrue(ranks.get(victim).isAlive() && ranks.get(survivor).isAlive(),
                    "a rank exited before the kill:\n" + Files.readString(log(0)) + "\n" + Files.readString(log(1)));
            Thread.sleep(50);
        }
        long killedAt = System.nanoTime();
        ranks.get(victim).destroyForcibly(); // SIGKILL, mid-loop: almost surely inside an allreduce
        assertTrue(ranks.get(survivor).waitFor(TIMEOUT_S + 40, TimeUnit.SECONDS), "the survivor hangs after rank " + victim + "'s SIGKILL");
        double seconds = (System.nanoTime() - killedAt) / 1e9;
        String out = Files.readString(survivorLog);
        assertEquals(3, ranks.get(survivor).exitValue(), out);
        String failure = out.lines().filter(l -> l.startsWith("FAILED: ")).findFirst().orElse("(none)");
        System.out.printf("rank %d killed; rank %d failed after %.1f s: %s%n", victim, survivor, seconds, failure);
        assertTrue(failure.contains("allReduce #") && failure.contains("on rank " + survivor + " of 2"), failure);
        String named = victim == 1 ? "rank 1 is lost" : "rank 0 has exited or was killed";
        assertTrue(failure.contains(named), "the lost rank must be named (" + named + "): " + failure);
    }

    @Test
    void aPeerThatNeverCallsTheCollectiveMakesItTimeOut() throws Exception {
        int timeout = 8;
        List<Process> ranks = start("stall", "tcp:127.0.0.1:" + freePort(), timeout, "h", "h");
        String out = finish(ranks.get(0), 0);
        assertEquals(3, ranks.get(0).exitValue(), out);
        String failure = out.lines().filter(l -> l.startsWith("FAILED: ")).findFirst().orElse("(none)");
        System.out.println("stalled peer: " + failure);
        assertTrue(failure.matches("FAILED: allReduce #1 \\(.*\\) failed on rank 0 of 2 after (8|9|1\\d)\\.\\d s \\(timeout 8 s\\): "
                + "every rank is alive, so one of them is stuck or called a different collective; gloo said: .*"), failure);
        ranks.get(1).destroyForcibly();
    }

    private List<Process> start(String mode, String store, int timeoutSeconds, String... hashes) throws IOException {
        List<Process> ranks = new ArrayList<>();
        for (int r = 0; r < hashes.length; r++) {
            List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                    "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1", "-cp", System.getProperty("java.class.path"),
                    CollectivesChildMain.class.getName(), mode, store, Integer.toString(r), Integer.toString(hashes.length), hashes[r],
                    Integer.toString(timeoutSeconds));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log(r).toFile());
            pb.environment().put("OMP_NUM_THREADS", "1");
            ranks.add(pb.start());
        }
        return ranks;
    }

    private Path log(int rank) {
        return tmp.resolve("rank" + rank + ".log");
    }

    private String finish(Process p, int rank) throws Exception {
        if (!p.waitFor(3, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("rank " + rank + " did not finish:\n" + Files.readString(log(rank)));
        }
        return Files.readString(log(rank));
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
