package org.agentflan.trainer.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.SafetensorsReader;
import org.agentflan.trainer.checkpoint.SafetensorsWriter;

/**
 * Benchmark hook: times a safetensors save and load of a given number of FLOAT32 bytes next to a plain write of
 * the same bytes to the same folder (best of two rounds each), so checkpoint IO can be compared with what the disk
 * itself does. Every write is forced to disk, as a checkpoint save is. The load usually hits the page cache (the file was just written).
 */
public final class CheckpointThroughput {
    /** Tensors of this size, like the large matrices of a 7B model (a 4096 x 4096 FLOAT32 matrix is 64 MiB). */
    static final long TENSOR_BYTES = 64L << 20;

    /** Seconds for each of the three operations on {@code bytes} bytes of FLOAT32 weights. */
    public record Result(long bytes, DataType saveType, double plainWriteSeconds, double saveSeconds, double loadSeconds) {
        private static double gbPerSecond(long bytes, double seconds) {
            return bytes / 1e9 / seconds;
        }

        /** One table row per operation, rate in GB of FLOAT32 weights per second. */
        public String table() {
            return String.format(Locale.ROOT,
                    "operation            seconds     GB/s   vs plain write%n"
                    + "plain write+fsync   %8.3f %8.2f   1.00x%n"
                    + "save (%-8s)     %8.3f %8.2f   %.2fx%n"
                    + "load (to FLOAT32)   %8.3f %8.2f   %.2fx%n",
                    plainWriteSeconds, gbPerSecond(bytes, plainWriteSeconds),
                    saveType, saveSeconds, gbPerSecond(bytes, saveSeconds), saveSeconds / plainWriteSeconds,
                    loadSeconds, gbPerSecond(bytes, loadSeconds), loadSeconds / plainWriteSeconds);
        }
    }

    private CheckpointThroughput() {}

    /**
     * Creates {@code bytes} bytes of random FLOAT32 tensors on the CPU, writes them plainly, saves them as
     * safetensors stored as {@code saveType}, loads them back (checking the first tensor), twice, and deletes the files.
     */
    public static Result measure(Path dir, long bytes, DataType saveType, NDManager manager) throws IOException {
        Files.createDirectories(dir);
        Path plain = dir.resolve("throughput-plain.bin");
        Path saved = dir.resolve("throughput.safetensors");
        try (NDManager scope = manager.newSubManager(ai.djl.Device.cpu())) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            long remaining = bytes;
            for (int i = 0; remaining > 0; i++) {
                long n = Math.min(TENSOR_BYTES, remaining) / 4;
                tensors.put(String.format("tensor.%05d", i), scope.randomUniform(-1f, 1f, new Shape(n)));
                remaining -= n * 4;
                if (n == 0) {
                    break;
                }
            }
            long total = bytes - remaining;

            // Two rounds of plain write, save, load; the best time of each counts. The first writes into a cold page
            // cache measured several times slower here, whichever operation came first.
            double plainSeconds = Double.MAX_VALUE;
            double saveSeconds = Double.MAX_VALUE;
            double loadSeconds = Double.MAX_VALUE;
            for (int round = 0; round < 2; round++) {
                plainSeconds = Math.min(plainSeconds, plainWrite(plain, tensors.values()));
                Files.deleteIfExists(plain);
                long t1 = System.nanoTime();
                SafetensorsWriter.write(AtomicFileWriter.UNOBSERVED, saved, SafetensorsWriter.entries(tensors, saveType),
                        SafetensorsWriter.PT_METADATA);
                long t2 = System.nanoTime();
                saveSeconds = Math.min(saveSeconds, (t2 - t1) / 1e9);
                loadSeconds = Math.min(loadSeconds, loadAndCheck(saved, tensors.values().iterator().next(), saveType, scope));
                Files.deleteIfExists(saved);
            }
            return new Result(total, saveType, plainSeconds, saveSeconds, loadSeconds);
        } finally {
            Files.deleteIfExists(plain);
            Files.deleteIfExists(saved);
        }
    }

    private static double loadAndCheck(Path saved, NDArray original, DataType saveType, NDManager scope) throws IOException {
        long start = System.nanoTime();
        NDArray first = null;
        try (SafetensorsReader reader = SafetensorsReader.open(saved)) {
            for (String name : reader.tensors().keySet()) {
                NDArray loaded = scope.create(reader.info(name).shape(), DataType.FLOAT32);
                reader.readInto(name, loaded);
                if (first == null) {
                    first = loaded;
                } else {
                    loaded.close();
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (saveType == DataType.FLOAT32 && first != null && !first.contentEquals(original)) {
            throw new IllegalStateException("throughput check: loaded tensor differs from the saved one");
        }
        if (first != null) {
            first.close();
        }
        return seconds;
    }

    /** A new file each time, like a save (rewriting an existing file's blocks measured up to 4x faster here). */
    private static double plainWrite(Path file, Iterable<NDArray> tensors) throws IOException {
        Files.deleteIfExists(file);
        long start = System.nanoTime();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (NDArray t : tensors) {
                ByteBuffer bytes = t.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
            }
            channel.force(true);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** Usage: {@code CheckpointThroughput DIR MEGABYTES [float32|float16|bfloat16]}; prints the table. */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: CheckpointThroughput DIR MEGABYTES [float32|float16|bfloat16]");
            System.exit(2);
        }
        DataType type = args.length > 2 ? DataType.valueOf(args[2].toUpperCase(Locale.ROOT)) : DataType.FLOAT32;
        try (NDManager manager = NDManager.newBaseManager()) {
            Result r = measure(Path.of(args[0]), Long.parseLong(args[1]) << 20, type, manager);
            System.out.printf(Locale.ROOT, "%d MiB of FLOAT32 weights in %s%n%s", r.bytes() >> 20, args[0], r.table());
        }
    }
}
