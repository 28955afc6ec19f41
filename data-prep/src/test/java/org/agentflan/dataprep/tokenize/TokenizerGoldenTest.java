package org.agentflan.dataprep.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.template.ChatTemplate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ids and masks against SentencePiece goldens from scripts/reference/make_tokenizer_goldens.py. */
class TokenizerGoldenTest {
    static final Path TOKENIZER = TestPaths.tokenizer();
    static Llama2Tokenizer tokenizer;
    static JsonNode goldens;

    @BeforeAll
    static synchronized void load() throws Exception {
        if (goldens != null) return;
        tokenizer = Llama2Tokenizer.shared(TOKENIZER);
        try (InputStream in = TokenizerGoldenTest.class.getResourceAsStream("/org/agentflan/dataprep/tokenizer-goldens.json")) {
            goldens = new ObjectMapper().readTree(in);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static List<Turn> turns(JsonNode conversation) {
        List<Turn> turns = new ArrayList<>();
        for (JsonNode t : conversation.get("turns")) {
            turns.add(new Turn(t.get("role").asText(), t.get("content").asText(), t.get("loss").asBoolean(), null));
        }
        return turns;
    }

    @Test
    void textsEncodeToSentencePieceIds() {
        assertTrue(goldens.get("texts").size() >= 8);
        for (JsonNode t : goldens.get("texts")) {
            assertArrayEquals(ints(t.get("ids")), tokenizer.encode(t.get("text").asText()), t.get("text").asText());
        }
    }

    @Test
    void conversationsGiveGoldenIdsAndMasks() {
        SampleEncoder encoder = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, false, MarkersInText.REJECT);
        for (JsonNode c : goldens.get("conversations")) {
            List<Turn> turns = turns(c);
            assertEquals(c.get("text").asText(), ChatTemplate.render(turns).text());
            SampleEncoder.Result result = encoder.encode(turns);
            assertNull(result.rejectReason());
            assertArrayEquals(ints(c.get("input_ids")), result.sample().inputIds(), c.get("text").asText());
            assertArrayEquals(ints(c.get("loss_mask")), result.sample().lossMask(), c.get("text").asText());
            assertEquals(Arrays.stream(ints(c.get("loss_mask"))).sum(), result.sample().lossTokens());
        }
    }

    @Test
    void literalSpecialTokensInContentNeverBecomeSpecialIds() {
        int[] ids = tokenizer.encode("a <s> b </s> c <unk> d <s></s><unk>");
        for (int id : ids) {
            assertTrue(id > 2, "special id " + id + " injected by text in " + Arrays.toString(ids));
        }
        SampleEncoder.Sample s = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, true, MarkersInText.REJECT)
                .encode(List.of(Turn.user("</s><s>"), Turn.assistant("<s></s>"))).sample();
        assertEquals(Llama2Tokenizer.BOS_ID, s.inputIds()[0]);
        assertEquals(Llama2Tokenizer.EOS_ID, s.inputIds()[s.length() - 1]);
        for (int i = 1; i < s.length() - 1; i++) {
            assertTrue(s.inputIds()[i] > 2, "special id inside the sample at " + i);
        }
        assertEquals(1, s.lossMask()[s.length() - 1], "EOS after a loss turn carries loss");
    }

    @Test
    void spansAreUtf16IndicesEvenBeyondTheBmp() {
        String text = "😀a 中 \u0D46";
        Llama2Tokenizer.Encoded enc = tokenizer.encodeWithSpans(text);
        assertEquals(text.length(), enc.ends()[enc.ends().length - 1]);
        for (int i = 0; i < enc.ids().length; i++) {
            assertTrue(enc.starts()[i] <= enc.ends()[i] && enc.ends()[i] <= text.length());
        }
        // The four byte-fallback tokens of the emoji share its two UTF-16 units.
        assertEquals(0, enc.starts()[1]);
        assertEquals(2, enc.ends()[1]);
    }

    @Test
    void unusableTokenizerIsAnErrorNamingTheFile(@TempDir Path dir) throws Exception {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Llama2Tokenizer.load(dir.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("nowhere"), missing.getMessage());
        Path bad = Files.writeString(dir.resolve("tokenizer.json"), "{\"not\": \"a tokenizer\"}");
        IllegalArgumentException invalid = assertThrows(IllegalArgumentException.class, () -> Llama2Tokenizer.load(dir));
        assertTrue(invalid.getMessage().contains(bad.toString()), invalid.getMessage());
        assertFalse(tokenizer.sha256().isEmpty());
    }

    @Test
    void spansFromPiecesEqualTheNativeSpans() {
        List<String> texts = new ArrayList<>();
        goldens.get("texts").forEach(t -> texts.add(t.get("text").asText()));
        goldens.get("conversations").forEach(c -> texts.add(c.get("text").asText()));
        texts.add("a\u0000b \u2581 lower\u2581bar \uD83E\uDDEC\uD83E\uDDEC   triple");
        for (String text : texts) {
            Llama2Tokenizer.Encoded mine = tokenizer.spansFromPieces(text, tokenizer.encode(text));
            Llama2Tokenizer.Encoded reference = tokenizer.nativeSpans(text);
            assertTrue(mine != null, "pieces do not spell " + text);
            assertArrayEquals(reference.ids(), mine.ids(), text);
            for (int i = 0; i < mine.ids().length; i++) {
                // The native side gives the prefix-only piece the first character; ours gives it none.
                boolean prefixOnly = i == 0 && mine.ends()[0] == 0;
                if (!prefixOnly) {
                    assertEquals(reference.starts()[i], mine.starts()[i], text + " token " + i);
                    assertEquals(reference.ends()[i], mine.ends()[i], text + " token " + i);
                }
            }
        }
    }
}
