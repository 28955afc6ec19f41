package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.model.LlamaConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fp16 compute with dynamic loss scaling, for real on CPU (DJL computes fp16 there; bf16 it cannot), and exact resume
 * from a checkpoint whose {@code model/} is bf16.
 *
 * <p>The loss scale starts at 2^40, far beyond what fp16 gradients survive, so the first steps overflow: each is
 * skipped, logged, and the scale divided by 256 until the gradients fit; those skips do not count toward
 * {@code nan.max_consecutive} (2 here, fewer than the overflows). A growth interval of 2 makes the scale grow again
 * within the run, so the scaler's state crosses the resume point.
 */
class TrainMixedPrecisionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path tmp;

    private static List<String> fp16Run(Path data) {
        return TrainFixtures.tinyRun(data, "compute_dtype=float16", "checkpoint.save_dtype=bfloat16",
                "loss_scale.init=1099511627776", "loss_scale.backoff_factor=0.00390625", "loss_scale.growth_interval=2",
                "nan.max_consecutive=2", "max_steps=8", "checkpoint.every=1");
    }

    private static List<JsonNode> trainLines(Path metrics) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode node = JSON.readTree(line);
            if ("train".equals(node.path("type").asText())) {
                lines.add(node);
            }
        }
        return lines;
    }

    @Test
    void fp16OverflowsAreSkippedTheScaleLoweredAndAResumeIsExact() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(log, true);
        Train.Result straight = Train.run(new Train.Options(null, fp16Run(data), tmp.resolve("straight"), null, null,
                null), console);
        assertEquals(StopReason.COMPLETED, straight.stopReason(), log.toString());

        List<JsonNode> lines = trainLines(straight.metrics());
        assertEquals(8, lines.size());
        JsonNode first = lines.get(0);
        assertEquals(Math.pow(2, 40), first.get("loss_scale").asDouble());
        assertTrue(first.get("overflow").asBoolean() && first.get("skipped").asBoolean(), first.toString());
        assertTrue(log.toString().contains("warning: step 1: fp16 gradients overflowed at loss scale 1.099511627776E12;"
                + " skipped, scale lowered to 4.2949673E9"), log.toString());
        int overflows = 0;
        int applied = 0;
        double previousScale = Double.NaN;
        boolean previousOverflow = false;
        for (JsonNode line : lines) {
            double scale = line.get("loss_scale").asDouble();
            if (previousOverflow) {
                assertEquals(previousScale / 256, scale, "backoff after an overflow");
            }
            previousOverflow = line.get("overflow").asBoolean();
            previousScale = scale;
            overflows += previousOverflow ? 1 : 0;
            applied += line.get("skipped").asBoolean() ? 0 : 1;
            // Whatever grad_accum: one read of loss and norm, and one of the weights' finiteness after an update.
            assertEquals(line.get("skipped").asBoolean() ? 1 : 2, line.get("host_reads").asInt(), line.toString());
        }
        assertTrue(overflows >= 3, "2^40 must overflow fp16 more than nan.max_consecutive times: " + lines);
        assertTrue(applied >= 2, "once the scale fits, steps apply: " + lines);

        // Stop after step 2, an overflow (2^32 still overflows fp16): a checkpoint may follow an overflow skip, since
        // the weights are the last finite ones.
        assertTrue(lines.get(1).get("overflow").asBoolean(), lines.toString());
        Train.Result part1 = Train.run(new Train.Options(null, fp16Run(data), tmp.resolve("resumed"), null, null, 2L),
                console);
        assertEquals(2, part1.endStep());
        Path mid = part1.lastCheckpoint();
        assertTrue(Files.isDirectory(mid.resolve("master")), "a bf16 save keeps the fp32 masters in master/");
        assertEquals("bfloat16", LlamaConfig.read(mid.resolve("model/config.json")).torchDtype());
        assertEquals("float32", LlamaConfig.read(mid.resolve("master/config.json")).torchDtype());
        TrainerState state = TrainerState.read(mid);
        assertEquals(lines.get(2).get("loss_scale").asDouble(), state.lossScale().scale(), "the scale step 3 uses");
        Train.Result part2 = Train.run(new Train.Options(null, fp16Run(data), tmp.resolve("resumed"), null, null, null),
                console);
        assertEquals(StopReason.COMPLETED, part2.stopReason());
        assertFalse(log.toString().contains("not an exact resume"), log.toString());

        Map<Long, Double> resumed = new LinkedHashMap<>(part1.losses());
        resumed.putAll(part2.losses());
        assertEquals(straight.losses(), resumed, "per-step losses must be bit-identical");
        Path a = straight.lastCheckpoint();
        Path b = part2.lastCheckpoint();
        for (String file : List.of("master/model.safetensors", "model/model.safetensors", "optimizer.safetensors")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(file)), Files.readAllBytes(b.resolve(file)), file);
        }
        assertEquals(TrainerState.read(a).lossScale(), TrainerState.read(b).lossScale());
    }

    @Test
    void bf16ComputeOnCpuIsRefusedBeforeAnyWork() throws Exception {
        Path data = TrainFixtures.dataDir(tmp);
        Path run = tmp.resolve("bf16");
        TrainException e = assertThrows(TrainException.class, () -> Train.run(new Train.Options(null,
                TrainFixtures.tinyRun(data, "compute_dtype=bfloat16"), run, null, null, null),
                new PrintStream(new ByteArrayOutputStream(), true)));
        assertTrue(e.getMessage().contains("compute_dtype bfloat16 cannot run on cpu")
                && e.getMessage().contains("compute_dtype=float16"), e.getMessage());
        assertFalse(Files.exists(run), "nothing may be written before the refusal");
    }
}
