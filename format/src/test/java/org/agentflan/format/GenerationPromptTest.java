package org.agentflan.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ids that {@code agentflan generate} feeds the model ({@link ChatTemplate#promptIds}), under the real Llama-2
 * tokenizer: they must be exactly the ids a training sample of the same conversation has before the reply, or the
 * model is asked for a reply in a context it never saw in training.
 */
class GenerationPromptTest {
    static Llama2Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
    }

    /** Conversations whose replies start and end plainly (no leading space, no marker inside). */
    static List<List<ChatTurn>> conversations() {
        return List.of(
                List.of(ChatTurn.user("What is 2+2?"), ChatTurn.assistant("4")),
                List.of(ChatTurn.system("You are a helpful assistant."), ChatTurn.user("List the files in /tmp"),
                        ChatTurn.assistant("Run `ls /tmp`.")),
                List.of(ChatTurn.user("Hi"), ChatTurn.assistant("Hello! How can I help?"),
                        ChatTurn.user("Name a prime."), ChatTurn.assistant("7"),
                        ChatTurn.user("And an even one?"), ChatTurn.assistant("2, the only even prime.")),
                // Tool use: the template has no tool role; calls are assistant text and observations user turns.
                List.of(ChatTurn.system("Answer with tools.\nTools: get_weather(city: string) -> {temp, sky}"),
                        ChatTurn.user("Weather in Paris?"),
                        ChatTurn.assistant("Thought: I need the weather.\nAction: get_weather\n"
                                + "Action Input: {\"city\": \"Paris\"}"),
                        ChatTurn.user("Observation: {\"temp\": 21, \"sky\": \"sunny\"}"),
                        ChatTurn.assistant("Thought: I have it.\nFinal Answer: sunny, 21 C.")));
    }

    /** Replies that tokenize at their edges in unusual ways: spaces, newlines, markers, specials, emoji. */
    static List<List<ChatTurn>> awkwardConversations() {
        return List.of(
                List.of(ChatTurn.user(" spaced  "), ChatTurn.assistant(" leading space")),
                List.of(ChatTurn.user("say </s><s>"), ChatTurn.assistant("</s> stays text")),
                List.of(ChatTurn.user("markers?"), ChatTurn.assistant("\u0D46\u0D3F inside \u0D3F")),
                List.of(ChatTurn.user("newline"), ChatTurn.assistant("\n\nafter two newlines")),
                List.of(ChatTurn.user("emoji"), ChatTurn.assistant("\uD83D\uDE00 first")),
                List.of(ChatTurn.user("Malayalam"), ChatTurn.assistant("\u0D15\u0D47\u0D30\u0D33\u0D02")),
                List.of(ChatTurn.user("empty reply"), ChatTurn.assistant("")));
    }

    /** BOS then the whole rendered conversation, as the data stage encodes a training sample. */
    private static int[] sampleIds(List<ChatTurn> turns) {
        int[] text = tokenizer.encode(ChatTemplate.render(turns).text());
        int[] ids = new int[text.length + 1];
        ids[0] = Llama2Tokenizer.BOS_ID;
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** For every assistant turn: the prompt of the turns before it is a prefix of the sample, token for token. */
    private static void assertPromptsArePrefixes(List<ChatTurn> turns, int[] sample) {
        int replies = 0;
        for (int k = 0; k < turns.size(); k++) {
            if (!ChatTurn.ASSISTANT.equals(turns.get(k).getRole())) {
                continue;
            }
            replies++;
            int turn = k;
            int[] prompt = ChatTemplate.promptIds(tokenizer, turns.subList(0, k));
            assertTrue(prompt.length < sample.length, "prompt longer than the sample: " + turns);
            assertArrayEquals(prompt, Arrays.copyOfRange(sample, 0, prompt.length), () -> "prompt for turn " + turn
                    + " of " + turns + "\n prompt " + Arrays.toString(prompt) + "\n sample " + Arrays.toString(sample));
        }
        assertTrue(replies > 0, "no assistant turn in " + turns);
    }

    @Test
    void promptIsTheSamplePrefixUpToEveryReply() {
        for (List<ChatTurn> turns : conversations()) {
            assertPromptsArePrefixes(turns, sampleIds(turns));
        }
        for (List<ChatTurn> turns : awkwardConversations()) {
            assertPromptsArePrefixes(turns, sampleIds(turns));
        }
    }

    @Test
    void promptIsTheSentencePieceGoldenPrefixUpToEveryReply() throws Exception {
        // The goldens' ids come from SentencePiece itself (scripts/reference/make_tokenizer_goldens.py).
        JsonNode goldens = TokenizerGoldenTest.goldens();
        assertTrue(goldens.get("conversations").size() >= 5);
        for (JsonNode c : goldens.get("conversations")) {
            assertPromptsArePrefixes(TokenizerGoldenTest.turns(c), TokenizerGoldenTest.ints(c.get("input_ids")));
        }
    }

    @Test
    void theStopTokenEndsExactlyTheReply() {
        int stop = ChatTemplate.assistantEndId(tokenizer);
        for (List<ChatTurn> turns : conversations()) {
            int[] sample = sampleIds(turns);
            for (int k = 0; k < turns.size(); k++) {
                if (!ChatTurn.ASSISTANT.equals(turns.get(k).getRole())) {
                    continue;
                }
                int start = ChatTemplate.promptIds(tokenizer, turns.subList(0, k)).length;
                int end = start;
                while (sample[end] != stop) {
                    end++;
                }
                // What generate returns when the model reproduces the training reply and stops at the end marker.
                assertEquals(turns.get(k).getContent(), tokenizer.decode(Arrays.copyOfRange(sample, start, end)));
            }
        }
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

    @Test
    void theBeginMarkerIsAPieceOfItsOwn() {
        // Why the prefix property holds for any reply: BPE merges only into vocabulary pieces, and U+0D46 occurs in
        // no piece but itself, so nothing after the prompt can merge with its last token.
        List<Integer> withMarker = new ArrayList<>();
        for (int id = 3; id < 32000; id++) {
            String piece = tokenizer.decode(new int[] {id});
            if (piece.contains(ChatTemplate.BEGIN_MARK)) {
                withMarker.add(id);
            }
        }
        assertEquals(List.of(30840), withMarker);
    }
}
