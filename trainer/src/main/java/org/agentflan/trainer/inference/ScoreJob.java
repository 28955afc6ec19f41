package org.agentflan.trainer.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agentflan.format.ShardSchema;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;

/**
 * {@code agentflan score}: loss (and optionally logits) of token ids under a model. Each input line is
 * {@code {"input_ids": [...], "loss_mask": [...]}}, named as the {@link ShardSchema} columns (mask optional, same
 * length as the ids). The loss is the mean
 * next-token NLL over positions t >= 1 whose {@code loss_mask[t]} is 1, i.e. token t is predicted from tokens
 * 0..t-1 and counted when it is a training target; no mask counts every token after the first. This is the same
 * alignment the trainer uses on data-prep shards. Output, one line per input line: {@code {"loss": x, "tokens": n}}
 * ({@code "loss": null} when no token counts), plus {@code "logits"} {@code [seq][vocab]} float32 on request, where
 * row t scores the token at t+1.
 */
public final class ScoreJob {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Tokens projected onto the vocabulary at once by the loss. */
    private static final int LOSS_CHUNK = 1024;

    /** Lines scored, tokens counted and their mean loss over the whole file (NaN when none counted). */
    public record Summary(int lines, long tokens, double meanLoss) {}

    private ScoreJob() {
    }

    public static Summary run(Path modelDir, Path input, boolean withLogits, Writer out) throws IOException {
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("input file " + input + " does not exist");
        }
        int lines = 0;
        long tokens = 0;
        double nllSum = 0;
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = HfCheckpoint.loadModel(modelDir, manager);
             BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            String line;
            int lineNumber = 0;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                Sample sample = Sample.parse(line, input, lineNumber, model.config().vocabSize(),
                        model.config().maxPositionEmbeddings());
                try (NDManager step = manager.newSubManager()) {
                    LineScore score = scoreOne(model, sample, withLogits, step, out);
                    if (score.tokens() > 0) {
                        tokens += score.tokens();
                        nllSum += score.loss() * score.tokens();
                    }
                }
                lines++;
            }
            out.flush();
        }
        return new Summary(lines, tokens, tokens == 0 ? Double.NaN : nllSum / tokens);
    }

    private record LineScore(Double loss, long tokens) {}

    private static LineScore scoreOne(LlamaModel model, Sample sample, boolean withLogits, NDManager step, Writer out)
            throws IOException {
        int t = sample.ids().length;
        long[] targets = new long[t];
        int[] mask = new int[t];
        long counted = 0;
        for (int i = 0; i + 1 < t; i++) {
            targets[i] = sample.ids()[i + 1];
            mask[i] = sample.mask() == null ? 1 : sample.mask()[i + 1];
            counted += mask[i];
        }
        NDArray ids = step.create(sample.ids(), new Shape(1, t));
        NDArray positions = step.arange(0, t, 1, DataType.INT64).reshape(1, t);
        NDArray segments = step.ones(new Shape(1, t), DataType.INT32);
        NDArray hidden = model.forward(ids, positions, segments, DataType.FLOAT32);
        Double loss = null;
        if (counted > 0) {
            loss = (double) MaskedCrossEntropy.mean(model, hidden, step.create(targets, new Shape(1, t)),
                    step.create(mask, new Shape(1, t)), LOSS_CHUNK);
        }
        JsonGenerator json = JSON.getFactory().createGenerator(out);
        json.writeStartObject();
        if (loss == null) {
            json.writeNullField("loss");
        } else {
            json.writeNumberField("loss", loss);
        }
        json.writeNumberField("tokens", counted);
        if (withLogits) {
            float[] logits = model.logits(hidden).toFloatArray();
            int vocab = model.config().vocabSize();
            json.writeArrayFieldStart("logits");
            for (int row = 0; row < t; row++) {
                json.writeStartArray();
                for (int v = row * vocab; v < (row + 1) * vocab; v++) {
                    json.writeNumber(logits[v]); // float, so the text round-trips to the same float32
                }
                json.writeEndArray();
            }
            json.writeEndArray();
        }
        json.writeEndObject();
        json.flush();
        out.write('\n');
        return new LineScore(loss, counted);
    }

    /** One input line, validated: errors name the file, the line and the field. */
    record Sample(long[] ids, int[] mask) {
        static Sample parse(String line, Path file, int lineNumber, int vocab, int maxLength) {
            String where = file + ":" + lineNumber + ": ";
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(where + "not valid JSON: " + e.getOriginalMessage());
            }
            String idsField = ShardSchema.INPUT_IDS.name();
            String maskField = ShardSchema.LOSS_MASK.name();
            JsonNode idsNode = node.get(idsField);
            if (idsNode == null || !idsNode.isArray() || idsNode.isEmpty()) {
                throw new IllegalArgumentException(where + "field " + idsField + " must be a non-empty array of token ids");
            }
            if (idsNode.size() > maxLength) {
                throw new IllegalArgumentException(where + "field " + idsField + " has " + idsNode.size()
                        + " tokens, more than the model's max_position_embeddings " + maxLength);
            }
            long[] ids = new long[idsNode.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode id = idsNode.get(i);
                if (!id.canConvertToLong() || !id.isIntegralNumber() || id.asLong() < 0 || id.asLong() >= vocab) {
                    throw new IllegalArgumentException(where + "field " + idsField + "[" + i + "] = " + id
                            + " is not a token id in [0, " + vocab + ")");
                }
                ids[i] = id.asLong();
            }
            int[] mask = null;
            JsonNode maskNode = node.get(maskField);
            if (maskNode != null && !maskNode.isNull()) {
                if (!maskNode.isArray() || maskNode.size() != ids.length) {
                    throw new IllegalArgumentException(where + "field " + maskField + " must be an array as long as "
                            + idsField + " (" + ids.length + ")");
                }
                mask = new int[ids.length];
                for (int i = 0; i < mask.length; i++) {
                    JsonNode m = maskNode.get(i);
                    if (!m.isIntegralNumber() || (m.asInt() != 0 && m.asInt() != 1)) {
                        throw new IllegalArgumentException(where + "field " + maskField + "[" + i + "] = " + m
                                + " is not 0 or 1");
                    }
                    mask[i] = m.asInt();
                }
            }
            return new Sample(ids, mask);
        }
    }
}
