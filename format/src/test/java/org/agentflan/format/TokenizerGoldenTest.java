package org.agentflan.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ids and rendered texts against SentencePiece goldens from scripts/reference/make_tokenizer_goldens.py. */
class TokenizerGoldenTest {
    static Llama2Tokenizer tokenizer;
    static JsonNode goldens;

    @BeforeAll
    static synchronized void load() throws Exception {
        if (goldens != null) return;
        tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
        goldens = goldens();
    }

    /** The golden file, also read by data-prep's loss-mask test. */
    static JsonNode goldens() throws Exception {
        try (InputStream in = TokenizerGoldenTest.class.getResourceAsStream("/org/agentflan/format/tokenizer-goldens.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static List<ChatTurn> turns(JsonNode conversation) {
        List<ChatTurn> turns = new ArrayList<>();
        for (JsonNode t : conversation.get("turns")) {
            turns.add(ChatTurn.of(t.get("role").asText(), t.get("content").asText(), t.get("loss").asBoolean()));
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
    void conversationsRenderToTheGoldenTextAndIds() {
        for (JsonNode c : goldens.get("conversations")) {
            String text = ChatTemplate.render(turns(c)).text();
            assertEquals(c.get("text").asText(), text);
            int[] ids = ints(c.get("input_ids"));
            assertEquals(Llama2Tokenizer.BOS_ID, ids[0]);
            assertArrayEquals(Arrays.copyOfRange(ids, 1, ids.length), tokenizer.encode(text), text);
        }
    }

    @Test
    void literalSpecialTokensInContentNeverBecomeSpecialIds() {
        int[] ids = tokenizer.encode("a <s> b </s> c <unk> d <s></s><unk>");
        for (int id : ids) {
            assertTrue(id > 2, "special id " + id + " injected by text in " + Arrays.toString(ids));
        }
    }

    @Test
    void decodeGivesTheTextBack() {
        for (JsonNode t : goldens.get("texts")) {
            String text = t.get("text").asText();
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        }
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
