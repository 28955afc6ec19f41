package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.util.cuda.CudaUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.junit.jupiter.api.Test;

/**
 * {@code agentflan env} on the machine the tests run on, loading every piece for real. The CPU expectations hold where
 * no GPU is visible (this repository's machines); on a GPU machine the test is skipped.
 */
class EnvCommandTest {
    @Test
    void reportsTheCpuEngineGlooAndWhatToInstallForCudaAndNccl() throws Exception {
        assumeTrue(!CudaUtils.hasCuda() || CudaUtils.getGpuCount() == 0, "a GPU is visible: the CPU expectations do not apply");
        CliRun run = CliRun.of("env", "--json");
        assertEquals(0, run.code(), run.err());
        JsonNode report = new ObjectMapper().readTree(run.out());

        assertEquals(System.getProperty("java.version"), report.get("java").asText().split(" ")[0]);
        assertEquals("0.36.0", report.get("djl").asText());
        JsonNode engine = report.get("engine");
        assertTrue(engine.get("usable").asBoolean());
        assertTrue(engine.get("detail").asText().matches("PyTorch, libtorch 2\\.7\\.1, CPU build, loaded from /.+"), engine.toString());
        assertEquals(1, report.get("devices").size());
        assertTrue(report.get("devices").get(0).asText().startsWith("cpu ("));

        JsonNode cuda = report.get("cuda");
        assertFalse(cuda.get("usable").asBoolean());
        assertTrue(cuda.get("install").asText().contains("set PYTORCH_LIBRARY_PATH to the lib folder of a libtorch 2.7.1 CUDA"
                + " 12.8 install"), cuda.toString());

        JsonNode gloo = report.get("gloo");
        if (GlooCollectives.unavailableReason() == null) {
            assertTrue(gloo.get("usable").asBoolean(), gloo.toString());
            assertTrue(gloo.get("install").isNull());
        } else {
            assertFalse(gloo.get("usable").asBoolean());
            assertTrue(gloo.get("install").asText().startsWith("apt-get install libgloo-dev g++"), gloo.toString());
        }

        JsonNode nccl = report.get("nccl");
        assumeTrue(!ncclInstalled(), "libnccl.so.2 is installed here");
        assertFalse(nccl.get("usable").asBoolean());
        assertTrue(nccl.get("detail").asText().contains("libnccl.so.2"), nccl.toString());
        assertTrue(nccl.get("install").asText().contains("NVIDIA's libnccl2 package"), nccl.toString());
    }

    @Test
    void linesNameEachPieceAndTheFix() {
        CliRun run = CliRun.of("env");
        assertEquals(0, run.code(), run.err());
        for (String piece : new String[] {"java:", "djl:", "engine:", "devices:", "cuda:", "nccl:", "gloo:"}) {
            assertTrue(run.out().contains("\n" + piece) || run.out().startsWith(piece), piece + " in\n" + run.out());
        }
        assertTrue(run.out().contains("engine:   yes: PyTorch, libtorch 2.7.1"), run.out());
    }

    private static boolean ncclInstalled() throws IOException, InterruptedException {
        Process ldconfig = new ProcessBuilder("ldconfig", "-p").redirectErrorStream(true).start();
        String libraries = new String(ldconfig.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ldconfig.waitFor();
        return libraries.contains("libnccl.so.2") || System.getenv("AGENTFLAN_NCCL_LIBRARY") != null;
    }
}
