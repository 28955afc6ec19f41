package org.agentflan.dataprep.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.format.Llama2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenize/render commands' engines against the SentencePiece goldens. */
class TextToolsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String run(java.util.function.Consumer<PrintStream> body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            body.accept(out);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tokenizePrintsGoldenIdsPerLine(@TempDir Path dir) throws Exception {
        SampleEncoderGoldenTest.load();
        List<String> lines = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (JsonNode t : SampleEncoderGoldenTest.goldens.get("texts")) {
            if (t.get("text").asText().isEmpty()) continue; // blank lines are skipped by design
            lines.add(JSON.writeValueAsString(t.get("text").asText()));
            expected.add(t.get("ids").toString());
        }
        Path input = Files.write(dir.resolve("texts.jsonl"), lines);
        String out = run(o -> TextTools.tokenize(TestPaths.tokenizer(), input, o));
        assertEquals(expected, out.lines().toList());
    }

    @Test
    void renderPrintsGoldenShardRowsAndAPrettyView(@TempDir Path dir) throws Exception {
        SampleEncoderGoldenTest.load();
        List<String> lines = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (JsonNode c : SampleEncoderGoldenTest.goldens.get("conversations")) {
            ObjectNode record = JSON.createObjectNode().put("id", "c" + lines.size());
            record.set("conversation", c.get("turns"));
            lines.add(record.toString());
            expected.add(JSON.createObjectNode().<ObjectNode>set("input_ids", c.get("input_ids"))
                    .<ObjectNode>set("loss_mask", c.get("loss_mask")).toString());
        }
        Path input = Files.write(dir.resolve("release.jsonl"), lines);
        SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(TestPaths.tokenizer()), 4096,
                OverLengthPolicy.DROP, false, MarkersInText.REJECT);
        assertEquals(expected, run(o -> TextTools.render(input, encoder, null, o)).lines().toList());

        String pretty = run(o -> TextTools.render(input, encoder, TextTools.Highlight.BRACKETS, o));
        assertTrue(pretty.contains("<|Assistant|>\u0D46[[4\u0D3F\n]] <|Human|>") || pretty.contains("[[4\u0D3F\n ]]"), pretty);
        assertTrue(pretty.startsWith("# c0: "), pretty);
    }

    @Test
    void badLinesNameFileLineAndField(@TempDir Path dir) throws Exception {
        Path input = Files.writeString(dir.resolve("bad.jsonl"),
                "{\"id\":\"a\",\"conversation\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n"
                        + "{\"id\":\"b\",\"conversation\":[{\"role\":\"robot\",\"content\":\"hi\"}]}\n");
        SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(TestPaths.tokenizer()), 4096,
                OverLengthPolicy.DROP, false, MarkersInText.REJECT);
        TextTools.InputError e = assertThrows(TextTools.InputError.class,
                () -> run(o -> TextTools.render(input, encoder, null, o)));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("conversation[0].role"), e.getMessage());
        Path notString = Files.writeString(dir.resolve("t.jsonl"), "\"ok\"\n42\n");
        TextTools.InputError e2 = assertThrows(TextTools.InputError.class,
                () -> run(o -> TextTools.tokenize(TestPaths.tokenizer(), notString, o)));
        assertTrue(e2.getMessage().contains("t.jsonl:2"), e2.getMessage());
    }
}
