package org.agentflan.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ids that {@code agentflan generate} feeds the model, under the real Llama-2 tokenizer. */
class GenerationPromptTest {
    static Llama2Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
    }

    @Test
    void promptTokensStartWithBosAndKeepMarkersAsSingleTokens() {
        int[] ids = ChatTemplate.promptIds(tokenizer, List.of(ChatTurn.user("say </s> please")));
        assertEquals(1, ids[0]);
        assertEquals(1, Arrays.stream(ids).filter(id -> id == 1).count(), "BOS only at the start");
        assertFalse(Arrays.stream(ids).anyMatch(id -> id == 2), "a literal </s> in the prompt must stay text");
        assertEquals(2, Arrays.stream(ids).filter(id -> id == 30840).count(), "two begin markers, token 30840");
        assertEquals(30840, ids[ids.length - 1], "the prompt ends with the assistant begin marker");
        assertEquals(30387, ChatTemplate.assistantEndId(tokenizer));
        assertTrue(tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length)).contains("say </s> please"));
    }
}
