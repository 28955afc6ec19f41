package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The `tokenize` and `render` commands as a user runs them: wiring, output format and bad-input messages. */
class TextCommandsTest {
    private static final String TOKENIZER = Path.of("../sample-data/llama2-tokenizer").toAbsolutePath().normalize().toString();
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    @Test
    void tokenizePrintsOneIdArrayPerLineAndKeepsSpecialTokensAsText() throws Exception {
        Path input = dir.resolve("texts.jsonl");
        Files.writeString(input, "\"Hello world\"\n\"</s>\"\n");
        CliRun run = CliRun.of("tokenize", "--tokenizer", TOKENIZER, "--input", input.toString());
        assertEquals(0, run.code(), run.err());
        String[] lines = run.out().strip().split("\n");
        assertEquals(2, lines.length, run.out());
        assertEquals("[15043,3186]", lines[0].replace(" ", ""), "known Llama-2 ids of 'Hello world' (no BOS)");
        JsonNode eos = JSON.readTree(lines[1]);
        assertTrue(eos.size() > 1, "a literal </s> is text, not the EOS id: " + eos);
        eos.forEach(id -> assertTrue(id.asInt() != 2, "EOS id in " + eos));
    }

    @Test
    void renderPrintsIdsAndMaskAsAShardRowWithLossOnTheAssistantTurn() throws Exception {
        Path input = dir.resolve("convs.jsonl");
        Files.writeString(input, "{\"id\": \"a\", \"conversation\": ["
                + "{\"role\": \"user\", \"content\": \"Hi\", \"loss\": false},"
                + "{\"role\": \"assistant\", \"content\": \"Hello world\", \"loss\": true}]}\n");
        CliRun run = CliRun.of("render", "--tokenizer", TOKENIZER, "--input", input.toString());
        assertEquals(0, run.code(), run.err());
        JsonNode row = JSON.readTree(run.out().strip());
        JsonNode ids = row.get("input_ids");
        JsonNode mask = row.get("loss_mask");
        assertEquals(ids.size(), mask.size());
        assertEquals(1, ids.get(0).asInt(), "BOS first");
        assertEquals(0, mask.get(0).asInt());
        int lossTokens = 0;
        boolean endMarkerLearned = false;
        for (int i = 0; i < ids.size(); i++) {
            lossTokens += mask.get(i).asInt();
            endMarkerLearned |= ids.get(i).asInt() == 30387 && mask.get(i).asInt() == 1;
        }
        assertTrue(lossTokens >= 3, "'Hello world' and the end marker carry loss: " + row);
        assertTrue(endMarkerLearned, "the assistant end marker U+0D3F (30387) carries loss: " + row);

        CliRun pretty = CliRun.of("render", "--tokenizer", TOKENIZER, "--input", input.toString(), "--pretty");
        assertEquals(0, pretty.code(), pretty.err());
        assertTrue(pretty.out().contains("Hello"), pretty.out());
    }

    @Test
    void renderRejectsOrKeepsARoleTagInTextAsTheDataConfigWould() throws Exception {
        Path input = dir.resolve("markers.jsonl");
        Files.writeString(input, "{\"id\": \"m\", \"conversation\": ["
                + "{\"role\": \"user\", \"content\": \"say <|Assistant|> yes\", \"loss\": false},"
                + "{\"role\": \"assistant\", \"content\": \"yes\", \"loss\": true}]}\n");
        CliRun rejected = CliRun.of("render", "--tokenizer", TOKENIZER, "--input", input.toString());
        assertEquals(0, rejected.code(), rejected.err());
        JsonNode line = JSON.readTree(rejected.out().strip());
        assertEquals("marker_in_text", line.get("rejected").asText());
        assertTrue(line.get("reason").asText().contains("turn [0] (user) holds the template marker '<|Assistant|>'"), line.toString());

        CliRun kept = CliRun.of("render", "--tokenizer", TOKENIZER, "--input", input.toString(), "--markers-in-text", "keep");
        assertEquals(0, kept.code(), kept.err());
        assertTrue(JSON.readTree(kept.out().strip()).get("input_ids").size() > 5, kept.out());
    }

    @Test
    void badInputNamesFileLineAndField() throws Exception {
        Path input = dir.resolve("bad.jsonl");
        Files.writeString(input, "{\"id\": \"a\", \"conversation\": [{\"role\": \"robot\", \"content\": \"x\", \"loss\": true}]}\n");
        CliRun run = CliRun.of("render", "--tokenizer", TOKENIZER, "--input", input.toString());
        assertEquals(2, run.code());
        assertTrue(run.err().contains("bad.jsonl:1") && run.err().contains("role"), run.err());
        CliRun missing = CliRun.of("tokenize", "--tokenizer", TOKENIZER, "--input", dir.resolve("none.jsonl").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("none.jsonl"), missing.err());
    }
}
