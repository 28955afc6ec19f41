package org.agentflan.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The segment memo gives exactly the ids of one native call over the whole text. */
class SegmentMemoTest {

    /** Every string value in the bundled sample data, plus texts aimed at segment edges. */
    static List<String> texts() throws Exception {
        List<String> texts = new ArrayList<>(List.of("", " ", "   ", "a", " a", "a ", "a  ", "  a  b   c    ",
                "\u2581", "x\u2581\u2581y z", "tab\there\nnew line  \n  indented", "end with spaces   ",
                "emoji \uD83E\uDDEC\uD83E\uDDEC  mixed 中文 字符 and ü", "a\u0000b", "<s> </s> <unk>",
                "if (x) {\n        return y;\n    }", "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}",
                "lonely surrogate \uD83E tail", "1234567890 3.14159 1e-9"));
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> files = Files.walk(TestPaths.repoRoot().resolve("sample-data"))) {
            for (Path f : files.filter(p -> p.toString().matches(".*(agent-flan|agentinstruct|sharegpt|toolllama|toolbench-raw).*\\.jsonl?"))
                    .sorted().toList()) {
                for (String line : f.toString().endsWith(".jsonl") ? Files.readAllLines(f) : List.of(Files.readString(f))) {
                    if (!line.isBlank()) {
                        collectStrings(json.readTree(line), texts);
                    }
                }
            }
        }
        return texts;
    }

    private static void collectStrings(JsonNode node, List<String> out) {
        if (node.isTextual()) {
            out.add(node.asText());
        }
        node.elements().forEachRemaining(child -> collectStrings(child, out));
    }

    @Test
    void memoEncodesAsTheWholeTextDoesTwice() throws Exception {
        Llama2Tokenizer tokenizer = Llama2Tokenizer.load(TestPaths.tokenizer());
        assertTrue(tokenizer.segmented(), "Llama-2's tokenizer.json must take the memo path");
        List<String> texts = texts();
        assertTrue(texts.size() > 2000, "sample data strings: " + texts.size());
        long tokens = 0;
        for (int pass = 0; pass < 2; pass++) { // the first pass fills the memo, the second reads it
            for (String text : texts) {
                int[] whole = tokenizer.encodeWhole(text);
                assertArrayEquals(whole, tokenizer.encode(text), () -> "segment memo differs on: " + text);
                tokens += whole.length;
            }
        }
        assertTrue(tokens > 100_000, "tokens compared: " + tokens);
        tokenizer.close();
    }

    @Test
    void threadsSharingOneTokenizerGetTheSameIds() throws Exception {
        Llama2Tokenizer tokenizer = Llama2Tokenizer.load(TestPaths.tokenizer());
        List<String> texts = texts();
        List<int[]> expected = texts.stream().map(tokenizer::encodeWhole).toList();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread[] threads = new Thread[3];
        for (int t = 0; t < threads.length; t++) {
            int offset = t;
            threads[t] = new Thread(() -> {
                for (int i = 0; i < texts.size(); i++) {
                    int k = (i + offset * texts.size() / threads.length) % texts.size(); // different orders
                    if (!java.util.Arrays.equals(expected.get(k), tokenizer.encode(texts.get(k)))) {
                        failures.add(texts.get(k));
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(failures.isEmpty(), "differs on: " + failures);
        tokenizer.close();
    }

    @Test
    void aVocabularyWithSpaceInsidePiecesIsEncodedWhole(@TempDir Path dir) throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode tree = (ObjectNode) json.readTree(TestPaths.tokenizer().resolve("tokenizer.json").toFile());
        // A piece "s\u2581" could merge across the point where a segment ends: no shortcut is safe then.
        ObjectNode vocab = (ObjectNode) tree.get("model").get("vocab");
        vocab.put("s\u2581", vocab.size());
        Files.write(dir.resolve("tokenizer.json"), json.writeValueAsBytes(tree));
        Llama2Tokenizer custom = Llama2Tokenizer.load(dir);
        assertFalse(custom.segmented());
        assertArrayEquals(custom.encodeWhole("its way"), custom.encode("its way"));
        custom.close();

        assertFalse(SegmentMemo.splitsSafely(List.of("\u2581a", "ab\u2581")));
        assertTrue(SegmentMemo.splitsSafely(List.of("\u2581a", "\u2581\u2581", "\u2581\u2581b")));
    }

    @Test
    void memoIsBoundedAndStartsOver() throws Exception {
        Llama2Tokenizer tokenizer = Llama2Tokenizer.load(TestPaths.tokenizer());
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < SegmentMemo.MAX_ENTRIES + 1000; i++) {
            text.append(" w").append(Integer.toString(i, 36));
        }
        // More distinct segments than the memo holds: it starts over instead of growing, and ids stay exact.
        String all = text.toString();
        assertArrayEquals(tokenizer.encodeWhole(all), tokenizer.encode(all));
        assertTrue(tokenizer.memoSize() > 0 && tokenizer.memoSize() <= SegmentMemo.MAX_ENTRIES,
                "memo size " + tokenizer.memoSize());
        assertArrayEquals(tokenizer.encodeWhole(" w1 w2 w3"), tokenizer.encode(" w1 w2 w3"));
        tokenizer.close();
    }
}
