package org.agentflan.trainer.distributed;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Where the build machine has g++ and Gloo, the build must have packaged both shims: the collective tests skip when
 * a shim is missing, and this test keeps that skip from hiding a broken build.
 */
class NativeShimsTest {
    @Test
    void theShimsAreBuiltWhereTheirToolsExist() {
        boolean gxx = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":")).anyMatch(d -> Files.isExecutable(Path.of(d, "g++")));
        assumeTrue(gxx, "skipped: no g++ on this machine, so the build skips the shims");
        assertTrue(NativeLibrary.packaged(NcclNative.LIBRARY), "g++ is here, but the build did not package libagentflan_nccl.so");
        assumeTrue(Files.exists(Path.of("/usr/include/gloo/allreduce.h")), "skipped: no libgloo-dev on this machine");
        assertNull(GlooCollectives.unavailableReason(), "g++ and libgloo-dev are here, but the build did not package the Gloo shim");
    }
}
