package org.agentflan.dataprep.tokenize;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.util.LoneSurrogates;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.ShardSchema;

/**
 * The {@code tokenize} and {@code render} commands: the stage's own tokenizer and encoder applied to lines of
 * a file, so a user can see exactly what lands in a shard. A bad line is an error naming file, line and field.
 */
public final class TextTools {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GREEN = "\u001b[32m";
    private static final String RESET = "\u001b[0m";

    private TextTools() {}

    /** How {@code render --pretty} marks loss tokens. */
    public enum Highlight { ANSI, BRACKETS }

    /** A user-facing problem with the input (file, line, field). */
    public static final class InputError extends RuntimeException {
        public InputError(String message) {
            super(message);
        }
    }

    /** One JSON string per line in, one JSON array of ids (no BOS) per line out; returns the line count. */
    public static long tokenize(Path tokenizerDir, Path input, PrintStream out) {
        Llama2Tokenizer tokenizer = Llama2Tokenizer.shared(tokenizerDir);
        return eachLine(input, (line, text) -> {
            JsonNode node = parse(input, line, text);
            if (!node.isTextual()) {
                throw new InputError(input + ":" + line + ": expected a JSON string, got " + node.getNodeType());
            }
            ArrayNode ids = JSON.createArrayNode();
            for (int id : tokenizer.encode(node.asText())) {
                ids.add(id);
            }
            out.println(ids);
        });
    }

    /**
     * Agent-FLAN release records ({@code {"id", "conversation": [{"role", "content", "loss"}]}}) in, per line
     * {@code {"input_ids": [...], "loss_mask": [...]}} out exactly as in a shard (or a human view with loss tokens
     * highlighted when {@code pretty} is set), or {@code {"id", "rejected": kind, "reason"}} for a record prepare
     * would reject; returns the record count.
     */
    public static long render(Path input, SampleEncoder encoder, Highlight pretty, PrintStream out) {
        return eachLine(input, (line, text) -> {
            JsonNode root = parse(input, line, text);
            List<Turn> turns = turns(input, line, root);
            String id = root.path("id").asText("line " + line);
            // As the reader does: text that is no characters is rejected before anything encodes it.
            String invalid = LoneSurrogates.in(id, turns);
            SampleEncoder.Result result = invalid != null ? null : encoder.encode(turns);
            if (invalid != null || result.rejectKind() != null) {
                String kind = invalid != null ? RejectKind.INVALID_UNICODE.key() : result.rejectKind().key();
                String reason = invalid != null ? invalid : result.rejectReason();
                ObjectNode rejected = JSON.createObjectNode().put("id", id).put("rejected", kind).put("reason", reason);
                out.println(pretty == null ? rejected.toString() : "# " + id + ": rejected (" + kind + "): " + reason);
                return;
            }
            SampleEncoder.Sample sample = result.sample();
            if (pretty != null) {
                out.println(prettyView(id, sample, result.truncated(), pretty));
                return;
            }
            ObjectNode row = JSON.createObjectNode();
            ArrayNode ids = row.putArray(ShardSchema.INPUT_IDS.name());
            ArrayNode mask = row.putArray(ShardSchema.LOSS_MASK.name());
            for (int i = 0; i < sample.length(); i++) {
                ids.add(sample.inputIds()[i]);
                mask.add(sample.lossMask()[i]);
            }
            out.println(row);
        });
    }

    /** The rendered text with loss tokens highlighted; BOS/EOS are shown as {@code <s>}/{@code </s>}. */
    static String prettyView(String id, SampleEncoder.Sample sample, boolean truncated, Highlight highlight) {
        StringBuilder view = new StringBuilder();
        view.append("# ").append(id).append(": ").append(sample.length()).append(" tokens, ")
                .append(sample.lossTokens()).append(" carry loss").append(truncated ? " (turns cut to fit)" : "")
                .append('\n');
        String open = highlight == Highlight.ANSI ? GREEN : "[[";
        String close = highlight == Highlight.ANSI ? RESET : "]]";
        boolean inLoss = false;
        int shown = 0; // characters of the text already printed; byte-fallback tokens share one character
        for (int i = 0; i < sample.length(); i++) {
            boolean loss = sample.lossMask()[i] == 1;
            String piece;
            int tokenIndex = i - 1;
            if (i == 0) {
                piece = "<s>";
            } else if (tokenIndex >= sample.encoded().ids().length) {
                piece = "</s>";
            } else {
                int start = Math.max(shown, sample.encoded().starts()[tokenIndex]);
                int end = Math.max(start, sample.encoded().ends()[tokenIndex]);
                piece = sample.text().substring(start, end);
                shown = end;
            }
            if (loss != inLoss) {
                view.append(loss ? open : close);
                inLoss = loss;
            }
            view.append(piece);
        }
        if (inLoss) {
            view.append(close);
        }
        return view.toString();
    }

    private static List<Turn> turns(Path input, long line, JsonNode root) {
        String where = input + ":" + line + ": ";
        JsonNode conversation = root.get("conversation");
        if (conversation == null || !conversation.isArray()) {
            throw new InputError(where + "field 'conversation' must be an array of {role, content, loss}");
        }
        List<Turn> turns = new ArrayList<>();
        for (int i = 0; i < conversation.size(); i++) {
            JsonNode t = conversation.get(i);
            String field = "conversation[" + i + "]";
            JsonNode role = t.get("role");
            JsonNode content = t.get("content");
            if (role == null || !role.isTextual() || !List.of("system", "user", "assistant").contains(role.asText())) {
                throw new InputError(where + "field '" + field + ".role' must be system, user or assistant");
            }
            if (content == null || !content.isTextual()) {
                throw new InputError(where + "field '" + field + ".content' must be a string");
            }
            JsonNode loss = t.get("loss");
            if (loss != null && !loss.isBoolean()) {
                throw new InputError(where + "field '" + field + ".loss' must be true or false");
            }
            boolean carries = loss == null ? role.asText().equals("assistant") : loss.asBoolean();
            turns.add(new Turn(role.asText(), content.asText(), carries, null));
        }
        return turns;
    }

    private static JsonNode parse(Path input, long line, String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new InputError(input + ":" + line + ": not valid JSON: " + e.getOriginalMessage());
        }
    }

    private interface LineHandler {
        void accept(long line, String text);
    }

    private static long eachLine(Path input, LineHandler handler) {
        long count = 0;
        try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            long line = 0;
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                line++;
                if (!text.isBlank()) {
                    handler.accept(line, text);
                    count++;
                }
            }
        } catch (java.nio.file.NoSuchFileException e) {
            throw new InputError("input file " + input + " not found");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new InputError(input + ": not valid UTF-8");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + input, e);
        }
        return count;
    }
}
