package org.agentflan.trainer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scores row 1 of the reference batch (one 7-token sample) from the checkpoint on disk and checks the loss and
 * logits against the reference's own logits for that row (padding cannot influence them: attention is isolated).
 */
class ScoreJobTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path reference(String name) throws URISyntaxException {
        return Path.of(ScoreJobTest.class.getResource("/reference/" + name).toURI());
    }

    @Test
    void lossAndLogitsMatchTheReference(@TempDir Path dir) throws Exception {
        Path caseDir = reference("gqa_f32");
        JsonNode golden = JSON.readTree(caseDir.resolve("golden.json").toFile());
        int vocab = 48;
        int t = 7;
        long[] ids = new long[t];
        int[] mask = new int[t];
        for (int i = 0; i < t; i++) {
            ids[i] = golden.get("input_ids").get(1).get(i).asLong();
            // the golden mask marks the position predicting the next token; score's mask marks the predicted token
            mask[i] = i == 0 ? 0 : golden.get("loss_mask").get(1).get(i - 1).asInt();
        }
        float[] goldLogits = new float[t * vocab];
        for (int i = 0; i < t * vocab; i++) {
            goldLogits[i] = (float) golden.get("logits").get(10 * vocab + i).asDouble();
        }
        double nll = 0;
        int counted = 0;
        for (int i = 1; i < t; i++) {
            if (mask[i] == 1) {
                nll += -logSoftmax(goldLogits, (i - 1) * vocab, vocab, (int) ids[i]);
                counted++;
            }
        }
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, JSON.writeValueAsString(java.util.Map.of("input_ids", ids, "loss_mask", mask)) + "\n\n"
                + JSON.writeValueAsString(java.util.Map.of("input_ids", ids)) + "\n"
                + "{\"input_ids\": [5]}\n");
        StringWriter out = new StringWriter();
        ScoreJob.Summary summary = ScoreJob.run(caseDir.resolve("model"), input, true, out);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString().split("\n")) {
            lines.add(JSON.readTree(line));
        }
        assertEquals(3, summary.lines());
        assertEquals(3, lines.size());
        assertEquals(counted, lines.get(0).get("tokens").asInt());
        assertEquals(nll / counted, lines.get(0).get("loss").asDouble(), 1e-5 * nll / counted);
        assertEquals(t - 1, lines.get(1).get("tokens").asInt(), "no mask: every token after the first counts");
        assertTrue(lines.get(2).get("loss").isNull(), "a single token has nothing to predict");
        JsonNode logits = lines.get(0).get("logits");
        assertEquals(t, logits.size());
        assertEquals(vocab, logits.get(0).size());
        for (int i = 0; i < t; i++) {
            for (int v = 0; v < vocab; v++) {
                assertEquals(goldLogits[i * vocab + v], logits.get(i).get(v).floatValue(), 1e-4, "logit " + i + "," + v);
            }
        }
    }

    @Test
    void badLinesNameTheFileLineAndField(@TempDir Path dir) throws Exception {
        Path model = reference("gqa_f32").resolve("model");
        Path input = dir.resolve("bad.jsonl");
        Files.writeString(input, "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, 99]}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScoreJob.run(model, input, false, new StringWriter()));
        assertTrue(e.getMessage().contains(input + ":2: field input_ids[1] = 99"), e.getMessage());

        Files.writeString(input, "{\"input_ids\": [1, 2, 3], \"loss_mask\": [0, 1]}\n");
        e = assertThrows(IllegalArgumentException.class, () -> ScoreJob.run(model, input, false, new StringWriter()));
        assertTrue(e.getMessage().contains(input + ":1: field loss_mask"), e.getMessage());

        Files.writeString(input, "{\"input_ids\": [1, 2, 3]\n");
        e = assertThrows(IllegalArgumentException.class, () -> ScoreJob.run(model, input, false, new StringWriter()));
        assertTrue(e.getMessage().contains(input + ":1: not valid JSON"), e.getMessage());
    }

    private static double logSoftmax(float[] logits, int offset, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        return logits[offset + target] - max - Math.log(sum);
    }
}
