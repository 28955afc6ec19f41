package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both stores behave alike for several ranks at once (each rank its own client: its own TCP connection, or its own
 * FileStore on the shared folder), and every wait is bounded with a message naming what was missing.
 */
class KeyValueStoreTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    @TempDir Path tmp;

    /** Opens one client per rank; the TCP kind starts rank 0's server on a free port. */
    private List<KeyValueStore> open(String kind, int ranks) throws Exception {
        List<KeyValueStore> stores = new ArrayList<>();
        int port = MultiProcessCollectivesTest.freePort();
        for (int r = 0; r < ranks; r++) {
            stores.add(kind.equals("tcp") ? TcpStore.open("127.0.0.1", port, r, TIMEOUT) : FileStore.open(tmp.resolve("store")));
        }
        return stores;
    }

    private static void closeAll(List<KeyValueStore> stores) {
        for (int r = stores.size() - 1; r >= 0; r--) {
            stores.get(r).close(); // rank 0 last: it waits for the others to leave
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "file"})
    void aGetWaitsForAnotherRanksSet(String kind) throws Exception {
        List<KeyValueStore> s = open(kind, 2);
        try {
            CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> s.get(1).get("a/key", TIMEOUT));
            Thread.sleep(300);
            assertTrue(!read.isDone(), "get must wait for the key");
            s.get(0).set("a/key", "value".getBytes(StandardCharsets.UTF_8));
            assertArrayEquals("value".getBytes(StandardCharsets.UTF_8), read.get(10, TimeUnit.SECONDS));
            s.get(0).set("a/key", new byte[] {1, 2});
            assertArrayEquals(new byte[] {1, 2}, s.get(1).get("a/key", TIMEOUT), "set overwrites");
            assertEquals(List.of("b"), s.get(1).missing(List.of("a/key", "b"), Duration.ofMillis(200)));
            s.get(0).set("b", new byte[0]);
            assertEquals(List.of(), s.get(1).missing(List.of("a/key", "b"), Duration.ofMillis(200)));
        } finally {
            closeAll(s);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "file"})
    void aMissingKeyTimesOutNamingTheKeyAndTheStore(String kind) throws Exception {
        List<KeyValueStore> s = open(kind, 1);
        try {
            long start = System.nanoTime();
            DistributedException e = assertThrows(DistributedException.class, () -> s.get(0).get("never/set", Duration.ofMillis(700)));
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds >= 0.7 && seconds < 5, "waited " + seconds + " s");
            assertTrue(e.getMessage().contains("never/set") && e.getMessage().contains(s.get(0).describe())
                    && e.getMessage().contains("0.7 s"), e.getMessage());
        } finally {
            closeAll(s);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tcp", "file"})
    void concurrentAddsFromFourRanksAllCount(String kind) throws Exception {
        List<KeyValueStore> s = open(kind, 4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (KeyValueStore store : s) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 25; i++) {
                        store.add("counter", 2);
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(201, s.get(3).add("counter", 1));
            assertEquals("201", new String(s.get(0).get("counter", TIMEOUT), StandardCharsets.US_ASCII));
        } finally {
            pool.shutdownNow();
            closeAll(s);
        }
    }

    @Test
    void aRankThatCannotReachTheStoreNamesTheAddressAndTheWait() throws Exception {
        int port = MultiProcessCollectivesTest.freePort(); // nobody listens there
        long start = System.nanoTime();
        DistributedException e = assertThrows(DistributedException.class,
                () -> TcpStore.open("127.0.0.1", port, 1, Duration.ofMillis(1500)));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds >= 1.5 && seconds < 10, "gave up after " + seconds + " s");
        assertTrue(e.getMessage().startsWith("rank 1 cannot reach the TCP store at 127.0.0.1:" + port), e.getMessage());
        assertTrue(e.getMessage().matches(".*after waiting 1\\.[5-9] s.*|.*after waiting [2-9]\\.\\d s.*"), e.getMessage());
    }

    @Test
    void anotherProgramOnThePortIsNotMistakenForTheStore() throws Exception {
        try (ServerSocket other = new ServerSocket(0)) {
            Thread answer = new Thread(() -> {
                try (Socket s = other.accept(); OutputStream out = s.getOutputStream()) {
                    out.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(500);
                } catch (IOException | InterruptedException ignored) {
                    // the test only needs the wrong greeting
                }
            });
            answer.start();
            DistributedException e = assertThrows(DistributedException.class,
                    () -> TcpStore.open("127.0.0.1", other.getLocalPort(), 1, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("not as an agentflan TCP store"), e.getMessage());
            answer.join();
        }
    }

    @Test
    void rankZeroOnATakenPortSaysSo() throws Exception {
        try (ServerSocket other = new ServerSocket(0)) {
            DistributedException e = assertThrows(DistributedException.class,
                    () -> TcpStore.open("127.0.0.1", other.getLocalPort(), 0, Duration.ofSeconds(2)));
            assertTrue(e.getMessage().contains("rank 0 cannot serve the TCP store on 127.0.0.1:" + other.getLocalPort()), e.getMessage());
        }
    }

    @Test
    void aClientWhoseServerDiesGetsAnErrorNotAHang() throws Exception {
        int port = MultiProcessCollectivesTest.freePort();
        TcpStore rank0 = TcpStore.open("127.0.0.1", port, 0, Duration.ofMillis(100));
        TcpStore rank1 = TcpStore.open("127.0.0.1", port, 1, TIMEOUT);
        try {
            CompletableFuture<byte[]> waiting = CompletableFuture.supplyAsync(() -> rank1.get("never", TIMEOUT));
            Thread.sleep(300);
            rank0.close(); // waits 100 ms for rank 1 to leave, then stops serving
            Exception e = assertThrows(Exception.class, () -> waiting.get(15, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof DistributedException, e.toString());
            assertTrue(e.getCause().getMessage().contains("rank 0 has exited or was killed"), e.getCause().getMessage());
        } finally {
            rank1.close();
        }
    }
}
