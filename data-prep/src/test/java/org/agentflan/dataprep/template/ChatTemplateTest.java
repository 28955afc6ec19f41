package org.agentflan.dataprep.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.agentflan.dataprep.model.Turn;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (byte) values[i];
        return out;
    }

    @Test
    void markersHaveTheExactAgentFlanBytes() {
        // "<|Human|>" then U+0D46 (E0 B5 86); "<|Assistant|>" then U+0D46; ends "\n " and U+0D3F (E0 B4 BF) "\n ".
        assertArrayEquals(bytes('<', '|', 'H', 'u', 'm', 'a', 'n', '|', '>', 0xE0, 0xB5, 0x86),
                ChatTemplate.HUMAN_BEGIN.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes('<', '|', 'A', 's', 's', 'i', 's', 't', 'a', 'n', 't', '|', '>', 0xE0, 0xB5, 0x86),
                ChatTemplate.ASSISTANT_BEGIN.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes('\n', ' '), ChatTemplate.HUMAN_END.getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(bytes(0xE0, 0xB4, 0xBF, '\n', ' '), ChatTemplate.ASSISTANT_END.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void rendersTurnsAndMarksContentPlusEndMarkerOfLossTurns() {
        ChatTemplate.Rendered r = ChatTemplate.render(List.of(
                Turn.system("S"), Turn.user("Q"), Turn.assistant("A"), new Turn("assistant", "B", false, null)));
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
}
