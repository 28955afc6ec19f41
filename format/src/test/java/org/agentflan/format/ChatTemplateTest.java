package org.agentflan.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static final int[] BEGIN = {0xE0, 0xB5, 0x86}; // U+0D46

    /** ASCII strings and raw byte values, concatenated. */
    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof String s) {
                out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            } else if (part instanceof Character c) {
                out.write(c);
            } else if (part instanceof Integer b) {
                out.write(b);
            } else {
                for (int b : (int[]) part) {
                    out.write(b);
                }
            }
        }
        return out.toByteArray();
    }

    @Test
    void markersHaveTheExactAgentFlanBytes() {
        // "<|Human|>" then U+0D46 (E0 B5 86); "<|Assistant|>" then U+0D46; ends "\n " and U+0D3F (E0 B4 BF) "\n ".
        assertArrayEquals(bytes("<|Human|>", BEGIN), ChatTemplate.HUMAN_BEGIN.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes("<|Assistant|>", BEGIN), ChatTemplate.ASSISTANT_BEGIN.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes('\n', ' '), ChatTemplate.HUMAN_END.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes(0xE0, 0xB4, 0xBF, '\n', ' '), ChatTemplate.ASSISTANT_END.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void rendersTurnsAndMarksContentPlusEndMarkerOfLossTurns() {
        ChatTemplate.Rendered r = ChatTemplate.render(List.of(ChatTurn.system("S"), ChatTurn.user("Q"),
                ChatTurn.assistant("A"), ChatTurn.of("assistant", "B", false)));
        String expected = "<|Human|>\u0D46S\n <|Human|>\u0D46Q\n <|Assistant|>\u0D46A\u0D3F\n <|Assistant|>\u0D46B\u0D3F\n ";
        assertEquals(expected, r.text());
        int a = expected.indexOf("A\u0D3F");
        assertArrayEquals(new int[] {a}, r.lossStarts());
        assertArrayEquals(new int[] {a + 4}, r.lossEnds()); // "A" + U+0D3F + "\n "
        assertEquals(expected.length(), r.turnEnds()[3]);
        assertTrue(r.insideLoss(a, a + 4));
        assertFalse(r.insideLoss(a - 1, a + 1), "a token reaching into the begin marker is not loss");
        assertFalse(r.insideLoss(a + 3, a + 5), "a token reaching past the end marker is not loss");
        assertFalse(r.insideLoss(a, a), "an empty range is not loss");
    }

    @Test
    void turnHoldingFindsTheTurnOfAContentRangeWhetherOrNotItCarriesLoss() {
        ChatTemplate.Rendered r = ChatTemplate.render(List.of(ChatTurn.user("Q"), ChatTurn.assistant("A"),
                ChatTurn.of("assistant", "B", false)));
        int a = r.text().indexOf("A\u0D3F");
        int b = r.text().indexOf("B\u0D3F");
        assertEquals(1, r.turnHolding(a, a + 4), "content and end marker of the loss turn");
        assertEquals(2, r.turnHolding(b, b + 4), "a turn without loss is found too");
        assertEquals(0, r.turnHolding(r.text().indexOf('Q'), r.text().indexOf('Q') + 3), "user content and its end");
        assertEquals(-1, r.turnHolding(a - 1, a + 1), "reaching into the begin marker");
        assertEquals(-1, r.turnHolding(0, 2), "the first begin marker");
        assertEquals(-1, r.turnHolding(a + 3, a + 5), "across two turns");
        assertEquals(-1, r.turnHolding(a, a), "an empty range");
    }

    @Test
    void generationPromptIsAUserTurnThenTheAssistantBeginMarker() {
        byte[] expected = bytes("<|Human|>", BEGIN, "What is 2+2?\n ", "<|Assistant|>", BEGIN);
        assertArrayEquals(expected, ChatTemplate.generationPrompt(List.of(ChatTurn.user("What is 2+2?")))
                .getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void generationPromptRendersASystemTurnWithTheHumanMarkers() {
        byte[] expected = bytes("<|Human|>", BEGIN, "You are an agent.\n ", "<|Human|>", BEGIN, "Hi\n ",
                "<|Assistant|>", BEGIN);
        assertArrayEquals(expected, ChatTemplate.generationPrompt(List.of(ChatTurn.system("You are an agent."),
                ChatTurn.user("Hi"))).getBytes(StandardCharsets.UTF_8));
    }
}
