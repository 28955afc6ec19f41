package org.agentflan.dataprep.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.format.Llama2Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sample ids, loss masks and capability labels against SentencePiece goldens from scripts/reference/make_tokenizer_goldens.py. The
 * golden file lives with the template and tokenizer it checks, in the format module's test resources.
 */
class SampleEncoderGoldenTest {
    static final Path GOLDENS = TestPaths.repoRoot().resolve(
            "format/src/test/resources/org/agentflan/format/tokenizer-goldens.json");
    static Llama2Tokenizer tokenizer;
    static JsonNode goldens;

    @BeforeAll
    static synchronized void load() throws Exception {
        if (goldens != null) return;
        tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
        goldens = new ObjectMapper().readTree(GOLDENS.toFile());
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    static List<Turn> turns(JsonNode conversation) {
        List<Turn> turns = new ArrayList<>();
        for (JsonNode t : conversation.get("turns")) {
            turns.add(new Turn(t.get("role").asText(), t.get("content").asText(), t.get("loss").asBoolean(),
                    t.hasNonNull("capability") ? t.get("capability").asText() : null));
        }
        return turns;
    }

    @Test
    void conversationsGiveGoldenIdsMasksAndCapabilityLabels() {
        SampleEncoder encoder = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, false, MarkersInText.REJECT);
        assertTrue(goldens.get("conversations").size() >= 5);
        for (JsonNode c : goldens.get("conversations")) {
            SampleEncoder.Result result = encoder.encode(turns(c));
            assertNull(result.rejectReason());
            assertEquals(c.get("text").asText(), result.sample().text());
            assertArrayEquals(ints(c.get("input_ids")), result.sample().inputIds(), c.get("text").asText());
            assertArrayEquals(ints(c.get("loss_mask")), result.sample().lossMask(), c.get("text").asText());
            assertArrayEquals(ints(c.get("capability_ids")), result.sample().capabilityIds(), c.get("text").asText());
            assertEquals(Arrays.stream(ints(c.get("loss_mask"))).sum(), result.sample().lossTokens());
        }
    }

    @Test
    void literalSpecialTokensInContentStayTextBetweenBosAndEos() {
        SampleEncoder.Sample s = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, true, MarkersInText.REJECT)
                .encode(List.of(Turn.user("</s><s>"), Turn.assistant("<s></s>"))).sample();
        assertEquals(Llama2Tokenizer.BOS_ID, s.inputIds()[0]);
        assertEquals(Llama2Tokenizer.EOS_ID, s.inputIds()[s.length() - 1]);
        for (int i = 1; i < s.length() - 1; i++) {
            assertTrue(s.inputIds()[i] > 2, "special id inside the sample at " + i);
        }
        assertEquals(1, s.lossMask()[s.length() - 1], "EOS after a loss turn carries loss");
    }
}
