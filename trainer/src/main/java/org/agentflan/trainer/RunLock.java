package org.agentflan.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * One run per run folder. Two trainers on one folder would share the temporary checkpoint folder and delete each
 * other's work, so {@code train} holds an OS file lock on {@code <run>/run.lock} for its whole life. The lock dies
 * with its process (kill -9 included), so a lock file whose lock is free is stale: its holder is gone and the new
 * run takes it over, saying whose it was. The file records the holder (pid, host, start time) for the message a
 * second run prints.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = "run.lock";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final FileChannel channel;
    private final FileLock lock;
    private final Path file;

    private RunLock(FileChannel channel, FileLock lock, Path file) {
        this.channel = channel;
        this.lock = lock;
        this.file = file;
    }

    /** Takes the run folder's lock or throws a {@link TrainException} naming the run that holds it. */
    public static RunLock acquire(Path runDir, PrintStream console) throws IOException {
        Path file = runDir.resolve(FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by another run inside this JVM
        } catch (IOException e) {
            channel.close();
            throw new TrainException("cannot lock " + file + ": " + e.getMessage()
                    + " (the run folder's filesystem must support file locks)");
        }
        String previous = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
        if (lock == null) {
            channel.close();
            throw new TrainException("run folder " + runDir + " is in use by " + describe(previous)
                    + "; wait for that run to finish, stop it, or pass another --run-dir");
        }
        if (!previous.isEmpty()) {
            console.println("taking over the stale lock of " + describe(previous) + " on " + runDir
                    + " (that process is gone)");
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(holder().getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(true);
        return new RunLock(channel, lock, file);
    }

    /** Frees the lock and empties the file, so the next run sees a clean hand-over rather than a stale lock. */
    @Override
    public void close() throws IOException {
        try {
            channel.truncate(0);
            lock.release();
        } finally {
            channel.close();
        }
    }

    Path file() {
        return file;
    }

    private static String holder() {
        ObjectNode node = JSON.createObjectNode();
        node.put("pid", ProcessHandle.current().pid());
        node.put("host", hostName());
        node.put("started", Instant.now().toString());
        return node.toString();
    }

    private static String describe(String holderJson) {
        if (holderJson.isEmpty()) {
            return "another run (no holder recorded yet)";
        }
        try {
            JsonNode node = JSON.readTree(holderJson);
            return "pid " + node.path("pid").asText("?") + " on host " + node.path("host").asText("?")
                    + " (started " + node.path("started").asText("?") + ")";
        } catch (IOException e) {
            return "another run (holder record unreadable: " + holderJson + ")";
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
