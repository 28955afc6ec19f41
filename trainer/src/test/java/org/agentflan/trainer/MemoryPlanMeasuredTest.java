package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The memory plan against the measured peak of real training steps ({@link PeakMemoryProbe} in a child JVM: the
 * production {@code OptimizerStep}, peak resident set over the resident set before the model): a small model, and a
 * medium one (13.7M parameters, 2 x 256 tokens) plain, with recompute, with 64-row attention blocks and with both.
 * Each plan is within 15% of its measurement, and recompute lowers the measured peak by what the plan says it saves.
 */
class MemoryPlanMeasuredTest {
    private static final double TOLERANCE = 0.15;
    private static final String SMALL = "hidden=128,intermediate=344,layers=2,heads=4,kv_heads=4,seq=128,batch=2,steps=2";
    private static final String MEDIUM = "hidden=512,intermediate=1376,layers=4,heads=8,kv_heads=8,seq=256,batch=2,steps=2";

    @Test
    void thePlanAgreesWithTheMeasuredPeakWithinFifteenPercent() throws Exception {
        List<String> specs = List.of(SMALL, MEDIUM, MEDIUM + ",recompute=1", MEDIUM + ",block=64",
                MEDIUM + ",recompute=1,block=64");
        List<JsonNode> runs = probe(specs);
        assertEquals(specs.size(), runs.size());
        for (int i = 0; i < specs.size(); i++) {
            long measured = runs.get(i).get("measured_bytes").asLong();
            long plan = runs.get(i).get("plan_bytes").asLong();
            assertEquals(PeakMemoryProbe.Spec.parse(specs.get(i)).plan().totalBytes(), plan);
            double error = Math.abs(plan - measured) / (double) measured;
            System.out.printf(java.util.Locale.ROOT, "%s: plan %,d bytes, measured %,d (%+.1f%%)%n", specs.get(i), plan,
                    measured, 100.0 * (plan - measured) / measured);
            assertTrue(error <= TOLERANCE, specs.get(i) + ": plan " + plan + " bytes, measured " + measured + " ("
                    + Math.round(100 * error) + "% apart)");
        }
        long measuredDrop = runs.get(1).get("measured_bytes").asLong() - runs.get(2).get("measured_bytes").asLong();
        long plannedDrop = runs.get(1).get("plan_bytes").asLong() - runs.get(2).get("plan_bytes").asLong();
        assertTrue(measuredDrop > 0, "recompute did not lower the measured peak: " + runs);
        double dropError = Math.abs(plannedDrop - measuredDrop) / (double) measuredDrop;
        assertTrue(dropError <= TOLERANCE, "recompute saved " + measuredDrop + " bytes, the plan says " + plannedDrop);
    }

    /** Runs the probe on {@code specs} in one child JVM; returns its JSON lines. */
    private static List<JsonNode> probe(List<String> specs) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // A fixed, pre-touched heap is resident before the baseline, so the JVM's growth is not measured.
                "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch", "-Dai.djl.offline=true", "-Dai.djl.default_engine=PyTorch",
                "-cp", System.getProperty("java.class.path"), PeakMemoryProbe.class.getName()));
        command.addAll(specs);
        ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        // glibc keeps freed large blocks once its mmap threshold has grown; fixed, RSS follows the live tensors.
        builder.environment().put("MALLOC_MMAP_THRESHOLD_", "65536");
        Process child = builder.start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(30, TimeUnit.MINUTES), "the probe did not finish");
        assertEquals(0, child.exitValue(), out);
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("{")) {
                lines.add(json.readTree(line));
            }
        }
        return lines;
    }
}
