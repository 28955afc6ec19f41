package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 2N steps straight equal N steps, stop, resume, N more: every loss and the final weights bit for bit (CPU, fp32). */
class TrainResumeTest {
    @TempDir Path tmp;

    @Test
    void resumedRunIsBitIdenticalToTheStraightRun() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(log, true);
        Train.Result straight = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "epochs=2"),
                tmp.resolve("straight"), null, null, null), console);
        assertEquals(StopReason.COMPLETED, straight.stopReason());
        long n = straight.totalSteps() / 2;
        assertTrue(n >= 3, "fixture should give at least 6 steps, got " + straight.totalSteps());

        Train.Result first = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "epochs=2"),
                tmp.resolve("resumed"), null, null, n), console);
        assertEquals(StopReason.STOP_AT_STEP, first.stopReason());
        assertEquals(n, first.endStep());
        Train.Result second = Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "epochs=2"),
                tmp.resolve("resumed"), null, null, null), console);
        assertEquals(n, second.startStep(), log.toString());
        assertEquals(StopReason.COMPLETED, second.stopReason());

        Map<Long, Double> resumedLosses = new LinkedHashMap<>(first.losses());
        resumedLosses.putAll(second.losses());
        assertEquals(straight.losses(), resumedLosses, "per-step losses must be bit-identical");
        double firstLoss = straight.losses().get(1L);
        double lastLoss = straight.losses().get(straight.totalSteps());
        assertTrue(lastLoss < firstLoss, "loss should fall: " + straight.losses());

        Path a = straight.lastCheckpoint();
        Path b = second.lastCheckpoint();
        assertEquals(CheckpointManager.dirName(straight.totalSteps()), a.getFileName().toString());
        assertArrayEquals(Files.readAllBytes(a.resolve("model/model.safetensors")),
                Files.readAllBytes(b.resolve("model/model.safetensors")), "final weights");
        assertFalse(Files.exists(a.resolve("master")), "with save_dtype float32, model/ holds the masters: no second copy");
        assertArrayEquals(Files.readAllBytes(a.resolve("optimizer.safetensors")),
                Files.readAllBytes(b.resolve("optimizer.safetensors")), "final optimizer state");
        assertTrue(Files.isRegularFile(straight.plot()));
        assertTrue(Files.readString(straight.metrics()).lines().count() >= straight.totalSteps());
    }
}
