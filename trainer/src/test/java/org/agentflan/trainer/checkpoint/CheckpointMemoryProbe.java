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
 * <p>Usage: {@code CheckpointMemoryProbe stream|read|into|optimizer|restore DIR [repeats]}; prints {@code rss=N direct=N bytes=N}.
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
            // "into" loads into parameters that exist (and were touched) before the measurement, like a built model.
            Map<String, NDArray> parameters = new java.util.LinkedHashMap<>();
            long parameterBytes = 0;
            if (mode.equals("into") || mode.equals("optimizer") || mode.equals("restore")) {
                for (Map.Entry<String, long[]> e : config.parameterShapes().entrySet()) {
                    NDArray p = manager.zeros(new ai.djl.ndarray.types.Shape(e.getValue()));
                    parameters.put(e.getKey(), p);
                    parameterBytes += p.size() * 4;
                }
            }
            // "optimizer" restores AdamW state into moments that exist and are zeroed, as after building the optimizer.
            AdamW adamw = mode.equals("optimizer")
                    ? new AdamW(new AdamW.Settings(0.9, 0.95, 1e-8, 0), parameters, manager) : null;
            int ownArrays = parameters.size() * (adamw == null ? 1 : 3);
            if (mode.equals("restore")) {
                ownArrays = 3 * parameters.size(); // the parameters and the two moments restore creates
            }
            System.gc();
            Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // resets VmHWM to the current RSS
            long rssBefore = status("VmRSS:");
            long directBefore = direct();
            RssSampler sampler = new RssSampler();
            sampler.start();
            long bytes = 0;
            for (int i = 0; i < repeats; i++) {
                if (mode.equals("stream")) {
                    long[] seen = {0};
                    HfCheckpoint.stream(dir, config, manager, (name, array) -> {
                        seen[0] += array.size() * 4;
                        array.close(); // a model would copy the tensor into its parameter here
                    });
                    bytes += seen[0];
                } else if (mode.equals("optimizer")) {
                    OptimizerState.read(dir, adamw);
                    bytes += 2 * parameterBytes;
                } else if (mode.equals("restore")) {
                    OptimizerState.restore(dir, new AdamW.Settings(0.9, 0.95, 1e-8, 0), parameters, manager);
                    bytes += 2 * parameterBytes;
                } else if (mode.equals("into")) {
                    HfCheckpoint.loadInto(dir, config, parameters);
                    bytes += parameterBytes;
                } else {
                    Map<String, NDArray> weights = HfCheckpoint.read(dir, config, manager);
                    for (NDArray w : weights.values()) {
                        bytes += w.size() * 4;
                    }
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
