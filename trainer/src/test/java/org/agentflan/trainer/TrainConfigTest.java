package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.config.ConfigException;
import org.junit.jupiter.api.Test;

class TrainConfigTest {
    /** Every recipe in configs/train loads, validates, and starts with a comment giving the command that runs it. */
    @Test
    void everyTrainRecipeLoadsAndNamesItsCommand() throws Exception {
        Path dir = Path.of("..", "configs", "train");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 2, "expected tiny.yaml and agent-flan-7b.yaml in " + dir.toAbsolutePath());
        for (Path file : files) {
            TrainConfig cfg = TrainConfig.load(file, List.of());
            assertTrue(cfg.problems().isEmpty(), file + ": " + cfg.problems());
            String text = Files.readString(file);
            assertTrue(text.startsWith("#"), file + " must start with a comment");
            assertTrue(text.contains("agentflan train --config configs/train/" + file.getFileName()),
                    file + " must give its command in the header");
        }
        TrainConfig sevenB = TrainConfig.load(dir.resolve("agent-flan-7b.yaml"), List.of());
        assertEquals(128, sevenB.batch().microBatch() * sevenB.batch().gradAccum());
        assertEquals(4096, sevenB.data().seqLen());
        assertEquals(2e-5, sevenB.optimizer().lr());
        assertEquals("bfloat16", sevenB.computeDtype());
    }

    @Test
    void unknownKeysAndBadValuesAreAllReportedBeforeAnyWork() {
        ConfigException unknown = assertThrows(ConfigException.class,
                () -> TrainConfig.load(null, List.of("optimizer.learning_rate=1")));
        assertTrue(unknown.getMessage().contains("optimizer.learning_rate"), unknown.getMessage());
        ConfigException bad = assertThrows(ConfigException.class,
                () -> TrainConfig.load(null, List.of("batch.micro_batch=0", "schedule.kind=step", "data.overlong=cut")));
        assertEquals(3, bad.problems().size(), bad.getMessage());
        assertFalse(bad.getMessage().contains("learning_rate"));
    }
}
