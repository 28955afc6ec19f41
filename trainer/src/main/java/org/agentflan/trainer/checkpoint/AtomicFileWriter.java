package org.agentflan.trainer.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Objects;

/**
 * Writes files so that a crash never leaves a complete-looking one: data goes to a hidden temporary file in the
 * same folder, is forced to disk, and is then renamed over the final name (rename is atomic on POSIX file systems),
 * and the folder is forced so that the rename survives a power loss. The temporary file is removed on any failure.
 * Every file of a checkpoint is written through one of these, and its {@link SaveObserver} sees each file's progress.
 */
public final class AtomicFileWriter {
    /** For files written outside an observed save. */
    public static final AtomicFileWriter UNOBSERVED = new AtomicFileWriter(SaveObserver.NONE);

    private static final String TEMP_INFIX = ".tmp-";

    /** Writes the content of one file through a channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    private final SaveObserver observer;

    public AtomicFileWriter(SaveObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    public void write(Path target, ChannelWriter writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path temp = dir.resolve("." + target.getFileName() + TEMP_INFIX + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writer.write(channel);
                channel.force(true);
            }
            observer.reached(SaveObserver.Point.FILE_FORCED, target);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot write " + target + " atomically: its file system does not support atomic rename", e);
            }
            syncDirectory(dir);
        } finally {
            Files.deleteIfExists(temp);
        }
        observer.reached(SaveObserver.Point.FILE_IN_PLACE, target);
    }

    public void writeBytes(Path target, byte[] bytes) throws IOException {
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    public void copy(Path source, Path target) throws IOException {
        write(target, channel -> {
            try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
                long size = in.size();
                long done = 0;
                while (done < size) {
                    done += in.transferTo(done, size - done, channel);
                }
            }
        });
    }

    /** Whether {@code file} is the temporary file of a write that never finished (the process died during it). */
    static boolean isTemporary(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.contains(TEMP_INFIX);
    }

    static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Makes renames in {@code dir} durable; without it a power loss can forget the new directory entry. */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Some platforms (not Linux) cannot open a directory; the file data itself is already forced.
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return;
            }
            throw e;
        }
    }
}
