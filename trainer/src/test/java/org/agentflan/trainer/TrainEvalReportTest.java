package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.agentflan.format.ShardSchema;
import org.agentflan.trainer.data.DataStreamTest;
import org.agentflan.trainer.data.ShardWriter;
import org.agentflan.trainer.eval.LossReport;
import org.agentflan.trainer.metrics.CapabilityPlot;
import org.agentflan.trainer.metrics.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The eval lines of a real (tiny) run: labelled data gives per-capability and per-source losses and the capability
 * plot; version 1 data (no labels) gives the overall loss, a note in every eval line, the note once on the console,
 * and no capability plot.
 */
class TrainEvalReportTest {
    @TempDir Path tmp;

    private Train.Result train(Path data, Path run, ByteArrayOutputStream out) throws Exception {
        return Train.run(new Train.Options(null, TrainFixtures.tinyRun(data, "max_steps=2", "data.holdout_fraction=0.25",
                "eval.every=1", "eval.max_rows=4"), run, null, null, null), new PrintStream(out, true));
    }

    private static List<JsonNode> evalLines(Train.Result r) throws Exception {
        return MetricsLog.read(r.metrics()).stream().filter(l -> l.get("type").asText().equals("eval")).toList();
    }

    @Test
    void labelledDataGivesLossesPerCapabilityAndSourceAndTheirPlot() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result r = train(TrainFixtures.dataDir(tmp), tmp.resolve("run"), out);
        String log = out.toString();
        List<JsonNode> evals = evalLines(r);
        assertEquals(2, evals.size(), log);
        for (JsonNode line : evals) {
            JsonNode caps = line.get("loss_by_capability");
            assertTrue(caps != null && caps.size() >= 2, line.toString());
            caps.fieldNames().forEachRemaining(c -> assertTrue(ShardSchema.CAPABILITIES.contains(c), c));
            List<String> sources = fieldNames(line.get("loss_by_source"));
            assertTrue(!sources.isEmpty() && List.of("agent", "chat").containsAll(sources), line.toString());
            long capTokens = sum(line.get("tokens_by_capability"));
            // Every loss token of the fixture is labelled, and some masked tokens are too.
            assertTrue(capTokens > line.get("loss_tokens").asLong(), line.toString());
            assertEquals(capTokens, sum(line.get("tokens_by_source")), "both count every labelled token: " + line);
            assertFalse(line.has("note"), line.toString());
        }
        assertTrue(log.contains("eval step 1: loss ") && log.contains("; by capability "), log);
        Path plot = r.runDir().resolve(CapabilityPlot.FILE_NAME);
        assertTrue(log.contains(plot.toString()), log);
        BufferedImage image = ImageIO.read(plot.toFile());
        assertEquals(900, image.getWidth());
        assertEquals(500, image.getHeight());
    }

    @Test
    void versionOneDataGivesTheOverallLossAndANoteButNoCapabilityPlot() throws Exception {
        Path data = tmp.resolve("data");
        ShardWriter.writeVersionOneDataDir(data, DataStreamTest.samples(40, 40, 9));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Train.Result r = train(data, tmp.resolve("run"), out);
        String log = out.toString();
        List<JsonNode> evals = evalLines(r);
        assertEquals(2, evals.size(), log);
        for (JsonNode line : evals) {
            assertTrue(Double.isFinite(line.get("loss").asDouble()) && line.get("loss_tokens").asLong() > 0, line.toString());
            assertEquals(LossReport.NO_LABELS, line.get("note").asText());
            assertFalse(line.has("loss_by_capability") || line.has("loss_by_source"), line.toString());
        }
        assertEquals(1, log.split(java.util.regex.Pattern.quote(LossReport.NO_LABELS), -1).length - 1,
                "the note once on the console: " + log);
        assertFalse(Files.exists(r.runDir().resolve(CapabilityPlot.FILE_NAME)));
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new java.util.ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static long sum(JsonNode counts) {
        long total = 0;
        for (JsonNode n : counts) total += n.asLong();
        return total;
    }
}
