package org.agentflan.trainer.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark hook works and cleans up; it is not a timed test (numbers come from running it by hand). */
class CheckpointThroughputTest {
    @TempDir
    Path tmp;

    @Test
    void measuresSaveAndLoadOfTheRequestedBytes() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            CheckpointThroughput.Result r = CheckpointThroughput.measure(tmp, (80L << 20) + 12, DataType.FLOAT32, manager);
            assertEquals((80L << 20) + 12, r.bytes());
            assertTrue(r.plainWriteSeconds() > 0 && r.saveSeconds() > 0 && r.loadSeconds() > 0, r.table());
            assertTrue(r.table().contains("save (float32"), r.table());
            try (var files = Files.list(tmp)) {
                assertEquals(0, files.count(), "benchmark files deleted");
            }
        }
    }
}
