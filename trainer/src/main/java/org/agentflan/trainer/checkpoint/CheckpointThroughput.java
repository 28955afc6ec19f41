package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Benchmark hook: times a safetensors save and load of a given number of FLOAT32 bytes next to a plain write of
 * the same bytes to the same folder, so checkpoint IO can be compared with what the disk itself does. Every write
 * is forced to disk, as a checkpoint save is. The load usually hits the page cache (the file was just written).
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
     * safetensors stored as {@code saveType}, loads them back (checking the first tensor), and deletes the files.
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

            long t0 = System.nanoTime();
            try (FileChannel channel = FileChannel.open(plain, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (NDArray t : tensors.values()) {
                    AtomicFiles.writeFully(channel, t.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN));
                }
                channel.force(true);
            }
            long t1 = System.nanoTime();
            SafetensorsWriter.write(saved, tensors, saveType);
            long t2 = System.nanoTime();
            NDArray first = null;
            try (SafetensorsReader reader = SafetensorsReader.open(saved)) {
                for (String name : reader.tensors().keySet()) {
                    NDArray loaded = reader.read(name, scope);
                    if (first == null) {
                        first = loaded;
                    } else {
                        loaded.close();
                    }
                }
            }
            long t3 = System.nanoTime();
            NDArray original = tensors.values().iterator().next();
            if (saveType == DataType.FLOAT32 && first != null && !first.contentEquals(original)) {
                throw new IllegalStateException("throughput check: loaded tensor differs from the saved one");
            }
            return new Result(total, saveType, (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
        } finally {
            Files.deleteIfExists(plain);
            Files.deleteIfExists(saved);
        }
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
