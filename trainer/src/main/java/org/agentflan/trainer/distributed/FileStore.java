package org.agentflan.trainer.distributed;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A key-value store in a folder on a file system every rank sees (NFS, Lustre, a local disk for one node), as Gloo's
 * and torch's FileStore: one file per key, written to a temporary name and renamed into place so that a reader sees a
 * whole value or none, and read by polling. {@link #add} takes a lock file created exclusively ({@code O_EXCL}).
 * Written in Java rather than wrapping Gloo's C++ FileStore because NCCL's unique id and the config hashes travel
 * through the store too, on nodes that may have no Gloo.
 *
 * <p>Use a fresh folder per launch: keys of an earlier launch would look like this one's ({@link Rendezvous} refuses
 * to start when it finds them).
 */
public final class FileStore implements KeyValueStore {
    private static final Duration MAX_POLL = Duration.ofMillis(100);
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;

    private FileStore(Path dir) {
        this.dir = dir;
    }

    public static FileStore open(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DistributedException("cannot create the file store folder " + dir + ": " + e.getMessage(), e);
        }
        return new FileStore(dir.toAbsolutePath());
    }

    @Override
    public void set(String key, byte[] value) {
        Path target = file(key);
        Path temp = dir.resolve(".tmp-" + UUID.randomUUID());
        try {
            Files.write(temp, value);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new DistributedException("the file store " + dir + " is on a file system without atomic rename", e);
        } catch (IOException e) {
            throw new DistributedException("cannot write key " + key + " to the " + describe() + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the rename moved it, or the write failed and was reported
            }
        }
    }

    @Override
    public byte[] get(String key, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMs = 1;
        while (true) {
            try {
                return Files.readAllBytes(file(key));
            } catch (NoSuchFileException e) {
                // not set yet
            } catch (IOException e) {
                throw new DistributedException("cannot read key " + key + " from the " + describe() + ": " + e.getMessage(), e);
            }
            if (System.nanoTime() >= deadline) {
                throw new DistributedException(String.format("key %s did not appear in the %s within %.1f s", key, describe(), timeout.toMillis() / 1e3));
            }
            pollMs = sleep(pollMs);
        }
    }

    @Override
    public List<String> missing(List<String> keys, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pollMs = 1;
        List<String> missing = new ArrayList<>(keys);
        while (true) {
            missing.removeIf(k -> Files.exists(file(k)));
            if (missing.isEmpty() || System.nanoTime() >= deadline) {
                return missing;
            }
            pollMs = sleep(pollMs);
        }
    }

    @Override
    public long add(String key, long delta) {
        Path lock = dir.resolve(file(key).getFileName() + ".lock");
        long deadline = System.nanoTime() + LOCK_TIMEOUT.toNanos();
        long pollMs = 1;
        while (true) {
            try {
                Files.createFile(lock);
                break;
            } catch (FileAlreadyExistsException e) {
                if (System.nanoTime() >= deadline) {
                    throw new DistributedException("add " + key + ": the lock " + lock + " has been held for more than "
                            + LOCK_TIMEOUT.toSeconds() + " s (a rank died holding it? delete it, or use a fresh folder)");
                }
                pollMs = sleep(pollMs);
            } catch (IOException e) {
                throw new DistributedException("cannot lock key " + key + " in the " + describe() + ": " + e.getMessage(), e);
            }
        }
        try {
            long value = delta;
            try {
                value += Long.parseLong(new String(Files.readAllBytes(file(key)), StandardCharsets.US_ASCII));
            } catch (NoSuchFileException e) {
                // first add
            }
            set(key, Long.toString(value).getBytes(StandardCharsets.US_ASCII));
            return value;
        } catch (IOException e) {
            throw new DistributedException("cannot read counter " + key + " from the " + describe() + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(lock);
            } catch (IOException ignored) {
                // a leftover lock is reported by the next add
            }
        }
    }

    @Override
    public String describe() {
        return "file store " + dir;
    }

    @Override
    public void close() {
        // nothing held open: every operation opens and closes its own files
    }

    /** Keys may hold '/'; URL-encoding makes each one a single flat file name. */
    private Path file(String key) {
        return dir.resolve(URLEncoder.encode(key, StandardCharsets.UTF_8));
    }

    private static long sleep(long pollMs) {
        try {
            Thread.sleep(pollMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DistributedException("interrupted while waiting on the file store");
        }
        return Math.min(pollMs * 2, MAX_POLL.toMillis());
    }
}
