package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.optim.AdamW;

/**
 * Run in a fresh JVM by {@link CheckpointMemoryTest}: loads a checkpoint and prints how much the process's peak
 * resident memory (VmHWM, reset through /proc/self/clear_refs, and RSS polled every millisecond) and the JVM's
 * direct buffers grew meanwhile. A fresh
 * process matters: memory freed earlier in a long test JVM stays resident and would hide a second copy.
 *
 * <p>Usage: {@code CheckpointMemoryProbe into|restore DIR [repeats]}; prints {@code rss=N direct=N bytes=N}.
 */
public final class CheckpointMemoryProbe {
    private CheckpointMemoryProbe() {}

    public static void main(String[] args) throws IOException {
        String mode = args[0];
        Path dir = Path.of(args[1]);
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        LlamaConfig config = LlamaConfig.read(dir.resolve(HfCheckpoint.CONFIG_FILE));
        try (NDManager manager = NDManager.newBaseManager()) {
            manager.ones(new ai.djl.ndarray.types.Shape(4)).close(); // load the engine before measuring
            // The parameters exist (and were touched) before the measurement, as in a built model.
            Map<String, NDArray> parameters = new java.util.LinkedHashMap<>();
            long parameterBytes = 0;
            for (Map.Entry<String, long[]> e : config.parameterShapes().entrySet()) {
                NDArray p = manager.zeros(new ai.djl.ndarray.types.Shape(e.getValue()));
                parameters.put(e.getKey(), p);
                parameterBytes += p.size() * 4;
            }
            // "restore" also creates the two moments of every parameter.
            int ownArrays = parameters.size() * (mode.equals("restore") ? 3 : 1);
            System.gc();
            Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // resets VmHWM to the current RSS
            long rssBefore = status("VmRSS:");
            long directBefore = direct();
            RssSampler sampler = new RssSampler();
            sampler.start();
            long bytes = 0;
            for (int i = 0; i < repeats; i++) {
                if (mode.equals("restore")) {
                    OptimizerState.restore(dir, new AdamW.Settings(0.9, 0.95, 1e-8, 0), parameters, manager);
                    bytes += 2 * parameterBytes;
                } else if (mode.equals("into")) {
                    HfCheckpoint.loadInto(dir, config, parameters);
                    bytes += parameterBytes;
                } else {
                    throw new IllegalArgumentException("unknown mode '" + mode + "'; expected into or restore");
                }
            }
            sampler.interrupt();
            long peak = Math.max(status("VmHWM:"), sampler.peak);
            System.out.println("rss=" + (peak - rssBefore) + " direct=" + (direct() - directBefore)
                    + " bytes=" + bytes + " arrays=" + (manager.getManagedArrays().size() - ownArrays));
        }
    }

    /**
     * Polls resident memory every millisecond. VmHWM alone can miss a peak that is unmapped again quickly (the
     * kernel updates the high-water mark lazily), and a tensor takes many milliseconds to read.
     */
    private static final class RssSampler extends Thread {
        private static final long PAGE = 4096;
        volatile long peak;

        RssSampler() {
            setDaemon(true);
        }

        @Override
        public void run() {
            Path statm = Path.of("/proc/self/statm");
            try {
                while (!isInterrupted()) {
                    long resident = Long.parseLong(Files.readString(statm).trim().split("\\s+")[1]) * PAGE;
                    peak = Math.max(peak, resident);
                    Thread.sleep(1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    private static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]) * 1024;
            }
        }
        throw new IllegalStateException("no " + key + " in /proc/self/status");
    }

    private static long direct() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        return 0;
    }
}
