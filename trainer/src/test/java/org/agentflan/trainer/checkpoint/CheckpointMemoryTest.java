package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.optim.AdamW;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loading never holds two copies of the weights. Proxy: peak resident memory of a fresh JVM
 * ({@link CheckpointMemoryProbe}) loading a ~106 MB checkpoint whose largest tensor is 16 MB, and its direct buffers.
 */
class CheckpointMemoryTest {
    private static final long MB = 1L << 20;
    /** Slack for allocator and JVM noise (JIT, young-generation pages, JSON parsing): far below a second copy. */
    private static final long SLACK = 24 * MB;
    private static final LlamaConfig WIDE = new LlamaConfig(8192, 512, 1408, 6, 8, 8, 1e-5, 10000.0, 512, false,
            1, 2, "float32", null, null, null);

    @TempDir
    static Path tmp;
    private static long totalBytes;
    private static long largestBytes;

    @BeforeAll
    static void writeCheckpoints() throws IOException {
        Assumptions.assumeTrue(Files.isWritable(Path.of("/proc/self/clear_refs")),
                "skipped: /proc/self/clear_refs is not writable here, so peak memory cannot be measured");
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : WIDE.parameterShapes().entrySet()) {
                NDArray w = manager.randomNormal(new Shape(e.getValue()));
                weights.put(e.getKey(), w);
                totalBytes += w.size() * 4;
                largestBytes = Math.max(largestBytes, w.size() * 4);
            }
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, tmp.resolve("f32"), WIDE, weights, 40 * MB, DataType.FLOAT32, null);
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, tmp.resolve("bf16"), WIDE, weights, Fixtures.HF_SHARD_BYTES, DataType.BFLOAT16, null);
            // AdamW state for these weights (moments of the parameters' shapes), next to a copy of the model config.
            AdamW adamw = new AdamW(new AdamW.Settings(0.9, 0.95, 1e-8, 0), weights, manager);
            Path optimizer = Files.createDirectories(tmp.resolve("optimizer"));
            OptimizerState.write(AtomicFileWriter.UNOBSERVED, optimizer, adamw);
            Files.copy(tmp.resolve("f32").resolve(HfCheckpoint.CONFIG_FILE), optimizer.resolve(HfCheckpoint.CONFIG_FILE));
        }
        assertEquals(16 * MB, largestBytes);
        assertTrue(totalBytes > 6 * largestBytes, "checkpoint much larger than one tensor: " + totalBytes);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"f32", "bf16"})
    void loadingIntoExistingParametersNeedsNoExtraMemory(String variant) throws Exception {
        Map<String, Long> probe = probe("into", tmp.resolve(variant), 3);
        assertEquals(3 * totalBytes, probe.get("bytes"));
        assertEquals(0, probe.get("arrays"), "no arrays besides the parameters");
        assertTrue(probe.get("rss") < SLACK, variant + ": peak RSS grew by " + probe.get("rss") / MB
                + " MB loading a " + totalBytes / MB + " MB checkpoint 3 times into existing parameters");
    }

    @Test
    void restoringAnOptimizerHoldsItsMomentsExactlyOnce() throws Exception {
        // A resumed run creates its moments from the saved state: one allocation of 2x the weights' bytes, filled
        // in place; zeroing them first and reading into separate arrays would hold them twice.
        Map<String, Long> probe = probe("restore", tmp.resolve("optimizer"), 1);
        long moments = 2 * totalBytes;
        long rss = probe.get("rss");
        assertEquals(moments, probe.get("bytes"));
        assertEquals(0, probe.get("arrays"), "restore should leave only the parameters and the moments");
        assertTrue(rss > moments * 3 / 4, "peak RSS grew by only " + rss / MB + " MB: the proxy does not see the moments");
        assertTrue(rss < moments + SLACK, "peak RSS grew by " + rss / MB + " MB restoring " + moments / MB + " MB of moments");
    }

    private static Map<String, Long> probe(String mode, Path dir, int repeats) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = List.of(java.toString(), "-Xmx256m", "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-cp", System.getProperty("java.class.path"), CheckpointMemoryProbe.class.getName(),
                mode, dir.toString(), Integer.toString(repeats));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        // Fixed glibc thresholds: freed tensors go back to the system at once, so peak RSS shows what the loader
        // holds rather than the allocator's retention policy (the dynamic default keeps up to ~32 MB cached).
        builder.environment().put("MALLOC_MMAP_THRESHOLD_", "131072");
        builder.environment().put("MALLOC_TRIM_THRESHOLD_", "131072");
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "probe timed out");
        assertEquals(0, p.exitValue(), out);
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        Map<String, Long> values = new HashMap<>();
        for (String pair : last.split(" ")) {
            String[] kv = pair.split("=");
            values.put(kv[0], Long.parseLong(kv[1]));
        }
        assertTrue(values.keySet().containsAll(List.of("rss", "direct", "bytes", "arrays")), out);
        return values;
    }
}
