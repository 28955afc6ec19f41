package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Two ranks of one training job in child JVMs ({@link TrainChildMain}) with torchrun's variables on 127.0.0.1;
 * {@code common} overrides go to both, {@code rank0}/{@code rank1} lead their own arguments.
 */
record RankJob(List<Process> ranks, List<Path> logs) {
    /** Same on every rank of a job (it is part of the config hash); a free key, so one rank may differ. */
    static final String TIMEOUT = "distributed.timeout_s=60";

    static RankJob start(Path tmp, Path run, Path data, List<String> rank0, List<String> rank1, String... common)
            throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<Process> ranks = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                    "-cp", System.getProperty("java.class.path"), TrainChildMain.class.getName(), run.toString(), data.toString()));
            cmd.addAll(r == 0 ? rank0 : rank1);
            cmd.add(TIMEOUT);
            cmd.addAll(List.of(common));
            Path log = Files.createTempFile(tmp, "rank" + r + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(Map.of("RANK", Integer.toString(r), "WORLD_SIZE", "2", "LOCAL_RANK", Integer.toString(r),
                    "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "OMP_NUM_THREADS", "1"));
            ranks.add(pb.start());
            logs.add(log);
        }
        return new RankJob(ranks, logs);
    }

    String log(int rank) throws Exception {
        return Files.readString(logs.get(rank));
    }

    void awaitLine(int rank, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!log(rank).contains(text)) {
            assertTrue(System.nanoTime() < deadline, "rank " + rank + " never printed '" + text + "':\n" + log(rank));
            assertTrue(ranks.get(rank).isAlive(), "rank " + rank + " exited before '" + text + "':\n" + log(rank));
            Thread.sleep(50);
        }
    }

    void requireExit() throws Exception {
        for (int r = 0; r < ranks.size(); r++) {
            if (!ranks.get(r).waitFor(3, TimeUnit.MINUTES)) {
                ranks.forEach(Process::destroyForcibly);
                throw new AssertionError("rank " + r + " did not finish:\n" + log(r));
            }
        }
    }

    void requireSuccess() throws Exception {
        requireExit();
        for (int r = 0; r < ranks.size(); r++) {
            assertEquals(0, ranks.get(r).exitValue(), "rank " + r + ":\n" + log(r) + "\nother rank:\n" + log(1 - r));
        }
    }
}
