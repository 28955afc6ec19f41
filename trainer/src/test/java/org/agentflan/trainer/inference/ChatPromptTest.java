package org.agentflan.trainer.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The prompt bytes of docs/method.md section 8, and their tokens under the real Llama-2 tokenizer. */
class ChatPromptTest {
    static final Path TOKENIZER = Path.of("..", "sample-data", "llama2-tokenizer").toAbsolutePath().normalize();

    private static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof String s) {
                out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            } else {
                for (int b : (int[]) part) {
                    out.write(b);
                }
            }
        }
        return out.toByteArray();
    }

    private static final int[] BEGIN = {0xE0, 0xB5, 0x86}; // U+0D46

    @Test
    void userTurnThenAssistantBeginHasTheDocumentedBytes() {
        byte[] expected = bytes("<|Human|>", BEGIN, "What is 2+2?\n ", "<|Assistant|>", BEGIN);
        assertArrayEquals(expected, ChatPrompt.render(null, "What is 2+2?").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void systemTurnUsesTheHumanMarkers() {
        byte[] expected = bytes("<|Human|>", BEGIN, "You are an agent.\n ", "<|Human|>", BEGIN, "Hi\n ",
                "<|Assistant|>", BEGIN);
        assertArrayEquals(expected, ChatPrompt.render("You are an agent.", "Hi").getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void promptTokensStartWithBosAndKeepMarkersAsSingleTokens() throws Exception {
        try (HuggingFaceTokenizer tokenizer = GenerateJob.tokenizer(TOKENIZER)) {
            long[] ids = GenerateJob.encodePrompt(tokenizer, 1, null, "say </s> please");
            assertEquals(1, ids[0]);
            assertEquals(1, Arrays.stream(ids).filter(id -> id == 1).count(), "BOS only at the start");
            assertFalse(Arrays.stream(ids).anyMatch(id -> id == 2), "a literal </s> in the prompt must stay text");
            assertEquals(2, Arrays.stream(ids).filter(id -> id == 30840).count(), "two begin markers, token 30840");
            assertEquals(30840, ids[ids.length - 1], "the prompt ends with the assistant begin marker");
            assertEquals(30387, GenerateJob.assistantEndId(tokenizer));
            assertTrue(tokenizer.decode(Arrays.copyOfRange(ids, 1, ids.length), false).contains("say </s> please"));
        }
    }
}
