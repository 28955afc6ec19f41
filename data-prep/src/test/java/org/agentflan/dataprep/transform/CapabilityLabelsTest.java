package org.agentflan.dataprep.transform;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.agentflan.dataprep.model.Capability;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.tokenize.MarkersInText;
import org.agentflan.dataprep.tokenize.OverLengthPolicy;
import org.agentflan.dataprep.tokenize.SampleEncoder;
import org.agentflan.dataprep.tokenize.TestPaths;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.ShardSchema;
import org.junit.jupiter.api.Test;

/**
 * The capability labels of a shard row land on the tokens of their turn: a conversation goes through the real
 * tagger, the real balancer (with retrieval's keep ratio 0, so that turn's loss is masked) and the encoder with
 * Llama-2's tokenizer. Each assistant turn's labels must be exactly the loss mask that turn alone would get, so
 * the labels follow the loss rule token for token (merges at the marker boundaries included), masked turn too.
 */
class CapabilityLabelsTest {
    private static final String SYSTEM = "You can call these tools: get_weather(city), convert_units(value, unit).";

    @Test
    void everyAssistantTokenCarriesItsTurnsCapabilityIncludingTheBalancerMaskedTurn() throws Exception {
        Conversation raw = new Conversation("c1", "agent", List.of(
                Turn.system(SYSTEM),
                Turn.user("What is the weather in Paris in Fahrenheit?"),
                Turn.assistant("I should look up the weather first, then convert it."),
                Turn.user("Which tool?"),
                Turn.assistant("get_weather"),
                Turn.user("Arguments?"),
                Turn.assistant("{\"city\": \"Paris\"}"),
                Turn.user("Observation: {\"celsius\": 21}"),
                Turn.assistant("It is 69.8 degrees Fahrenheit in Paris.")));
        Conversation tagged = new CapabilityTagger(new CapabilityTaggerConfig(List.of("sharegpt"))).tag(raw);
        List<String> tags = tagged.getTurns().stream().map(Turn::getCapability).toList();
        assertEquals(java.util.Arrays.asList(null, null, "reasoning", null, "retrieval", null, "understanding", null,
                "reasoning"), tags, "the tagger's rules on this conversation");
        Conversation balanced = new CapabilityBalancer(
                new CapabilityBalancerConfig(true, 1.0, 0.0, 1.0, 1.0, 1.0, List.of()), 7).balance(tagged);
        assertFalse(balanced.getTurns().get(4).isLoss(), "retrieval keep ratio 0 masks the retrieval turn");
        assertTrue(balanced.getTurns().get(2).isLoss() && balanced.getTurns().get(6).isLoss());

        Llama2Tokenizer tokenizer = Llama2Tokenizer.shared(TestPaths.tokenizer());
        SampleEncoder encoder = new SampleEncoder(tokenizer, 4096, OverLengthPolicy.DROP, true, MarkersInText.REJECT);
        SampleEncoder.Sample sample = encoder.encode(balanced.getTurns()).sample();
        int[] labels = sample.capabilityIds();
        assertEquals(sample.length(), labels.length);

        int[] expected = new int[labels.length];
        List<Turn> turns = balanced.getTurns();
        for (int i = 0; i < turns.size(); i++) {
            if (!turns.get(i).getRole().equals("assistant")) {
                continue;
            }
            // The same conversation with loss on turn i alone: its mask marks exactly turn i's tokens.
            List<Turn> only = new ArrayList<>();
            for (int j = 0; j < turns.size(); j++) {
                Turn t = turns.get(j);
                only.add(new Turn(t.getRole(), t.getContent(), j == i, t.getCapability()));
            }
            int[] mask = encoder.encode(only).sample().lossMask();
            int id = ShardSchema.capabilityId(turns.get(i).getCapability());
            int marked = 0;
            for (int k = 0; k < mask.length; k++) {
                if (mask[k] == 1) {
                    assertEquals(0, expected[k], "two turns claim token " + k);
                    expected[k] = id;
                    marked++;
                }
            }
            assertTrue(marked >= 2, "turn " + i + " has content tokens and its end marker");
        }
        assertArrayEquals(expected, labels);

        // Read as text: the retrieval label covers the masked turn's content and end marker, less the end's last
        // space, which SentencePiece merges with the next turn's "<" ("▁<"), a token of two turns, as for loss.
        assertEquals("get_weather" + ChatTemplate.END_MARK + "\n", labelledText(tokenizer, sample, 2));
        assertEquals(ShardSchema.NO_CAPABILITY, labels[0], "BOS");
        assertEquals(ShardSchema.capabilityId("reasoning"), labels[labels.length - 1], "EOS after a reasoning turn");
        for (int k = 0; k < labels.length; k++) {
            if (sample.lossMask()[k] == 1) {
                assertTrue(labels[k] != ShardSchema.NO_CAPABILITY, "loss token " + k + " without a label");
            }
        }
        assertEquals(List.of("reasoning", "retrieval", "understanding", "instruction_following", "chat"),
                ShardSchema.CAPABILITIES, "the label order is part of the shard format");
        assertEquals(ShardSchema.CAPABILITIES, java.util.Arrays.stream(Capability.values()).map(Capability::key).toList(),
                "every tag the data stage gives has a label");
    }

    /** The text of the tokens labelled {@code id}, read from the encoder's spans. */
    private static String labelledText(Llama2Tokenizer tokenizer, SampleEncoder.Sample sample, int id) {
        StringBuilder text = new StringBuilder();
        for (int k = 1; k <= sample.encoded().ids().length; k++) {
            if (sample.capabilityIds()[k] == id) {
                text.append(sample.text(), sample.encoded().starts()[k - 1], sample.encoded().ends()[k - 1]);
            }
        }
        return text.toString();
    }
}
