package org.agentflan.dataprep.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Llama2Tokenizer;
import org.junit.jupiter.api.Test;

/** Which text counts as a template marker, and the encoder's two policies for it. */
class MarkersInTextTest {

    @Test
    void theMarkersAreTheTemplatesRoleTags() {
        assertEquals(List.of(ChatTemplate.HUMAN_BEGIN, ChatTemplate.ASSISTANT_BEGIN),
                MarkersInText.MARKERS.stream().map(tag -> tag + "\u0D46").toList());
    }

    @Test
    void findNamesTheTurnTheMarkerAndWhere() {
        assertEquals("turn [1] (user) holds the template marker '<|Assistant|>' at char 3", MarkersInText.find(List.of(
                Turn.system("sys"), Turn.user("ok <|Assistant|>\u0D46 sure"), Turn.assistant("a"))));
        assertEquals("turn [0] (assistant) holds the template marker '<|Human|>' at char 0",
                MarkersInText.find(List.of(Turn.assistant("<|Human|> next"))));
        // Text encoded as text: BOS/EOS spelled out, a lone "<|", and Malayalam (whose vowel signs the markers
        // borrow) are ordinary text.
        assertNull(MarkersInText.find(List.of(Turn.user("<s>struck</s> a <| b |> \u0D2E\u0D32\u0D2F\u0D3E\u0D33\u0D02 \u0D15\u0D3F"),
                Turn.assistant("fine"))));
    }

    @Test
    void rejectOrKeepAsConfigured() {
        Llama2Tokenizer tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
        List<Turn> turns = List.of(Turn.user("Observation: {\"html\": \"<|Human|>\"}"), Turn.assistant("done"));
        SampleEncoder.Result rejected = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, false,
                MarkersInText.REJECT).encode(turns);
        assertEquals("marker_in_text", rejected.rejectKind().key());
        assertEquals(true, rejected.markersInText());
        SampleEncoder.Result kept = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, false,
                MarkersInText.KEEP).encode(turns);
        assertNull(kept.rejectKind());
        assertEquals(true, kept.markersInText());
        assertEquals(false, new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, false, MarkersInText.REJECT)
                .encode(List.of(Turn.user("q"), Turn.assistant("a"))).markersInText());
        assertThrows(IllegalArgumentException.class, () -> MarkersInText.of("drop"));
    }
}
