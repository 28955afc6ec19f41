package org.agentflan.dataprep.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.agentflan.config.ConfigLoader;
import org.agentflan.dataprep.SparkTestSession;
import org.agentflan.dataprep.model.Capability;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.source.ConversationReader;
import org.agentflan.dataprep.source.ReActPrompt;
import org.agentflan.dataprep.source.SourceFormat;
import org.agentflan.dataprep.source.SourceSpec;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every transform on the real ToolBench answer trees (and ShareGPT chats), including partition independence. */
class TransformsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 20240318L;
    private static SparkSession spark;
    private static Dataset<Conversation> toolbench;
    private static Dataset<Conversation> sharegpt;
    /** Raw ToolBench answer trees by file name, read here with plain Jackson. */
    private static Map<String, JsonNode> rawAnswers;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkTestSession.start("TransformsTest");
        Path raw = SparkTestSession.sampleData().resolve("toolbench-raw");
        toolbench = ConversationReader.read(spark, new SourceSpec("toolbench", raw.resolve("*.json").toString(),
                SourceFormat.TOOLBENCH_RAW, 1.0)).conversations().cache();
        sharegpt = ConversationReader.read(spark, new SourceSpec("sharegpt",
                SparkTestSession.sampleData().resolve("sharegpt/dummy_conversation.json").toString(),
                SourceFormat.SHAREGPT, 1.0)).conversations().cache();
        rawAnswers = new HashMap<>();
        try (Stream<Path> files = Files.list(raw)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
                rawAnswers.put(f.getFileName().toString(), JSON.readTree(f.toFile()).get("answer_generation"));
            }
        }
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static <T> T defaults(Class<T> type, String resource, String... overrides) {
        return ConfigLoader.load(type, resource, null, List.of(overrides));
    }

    private static List<Conversation> sorted(Dataset<Conversation> ds) {
        List<Conversation> list = new ArrayList<>(ds.collectAsList());
        list.sort(Comparator.comparing(Conversation::getId));
        return list;
    }

    private static JsonNode rawEntry(String id) {
        String[] parts = id.split("#");
        return rawAnswers.get(parts[0]).get("train_messages").get(Integer.parseInt(parts[1]));
    }

    @Test
    void formatAlignmentSplitsEveryToolBenchStepIntoThoughtToolAndArguments() throws IOException {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0"), SEED);
        List<Conversation> aligned = sorted(alignment.apply(toolbench));
        assertEquals(32, aligned.size());
        Set<String> elicitations = new HashSet<>();
        for (Elicitations e : Elicitations.values()) {
            elicitations.addAll(e.phrasings());
        }
        for (Conversation c : aligned) {
            JsonNode messages = rawEntry(c.getId());
            List<String> calls = new ArrayList<>();
            List<String> arguments = new ArrayList<>();
            List<String> finals = new ArrayList<>();
            List<String> userSide = new ArrayList<>();
            for (JsonNode m : messages) {
                JsonNode call = m.get("function_call");
                if (call != null && call.get("name").asText().equals("Finish")) {
                    JsonNode fin = JSON.readTree(call.get("arguments").asText());
                    finals.add(fin.has("final_answer") ? fin.get("final_answer").asText() : FormatAlignment.GIVE_UP_ANSWER);
                } else if (call != null) {
                    calls.add(call.get("name").asText());
                    arguments.add(call.get("arguments").asText());
                } else if (m.get("role").asText().equals("function")) {
                    userSide.add("Observation: " + m.get("content").asText());
                } else if (m.get("role").asText().equals("user")) {
                    userSide.add(m.get("content").asText());
                }
            }
            List<Turn> turns = c.getTurns();
            String system = turns.get(0).getContent();
            assertTrue(system.startsWith(messages.get(0).get("content").asText()));
            assertFalse(system.contains("Action Input:"), "no ReAct format instruction left in a chat-form system prompt");
            assertTrue(system.contains(ReActPrompt.FUNCTIONS_HEADER + "["), "the function list stays");
            assertEquals(calls, byCapability(turns, Capability.RETRIEVAL), c.getId());
            assertEquals(arguments, byCapability(turns, Capability.UNDERSTANDING), c.getId());
            for (int i = 0; i < turns.size(); i++) {
                Turn t = turns.get(i);
                if (t.getRole().equals("assistant")) {
                    assertTrue(ReActStep.parse(t.getContent()).isEmpty(), "no ReAct text left: " + t);
                    assertTrue(t.isLoss());
                    assertEquals("user", turns.get(i - 1).getRole(), "every assistant turn answers a user turn");
                    if (!t.getCapability().equals("reasoning")) {
                        assertTrue(elicitations.contains(turns.get(i - 1).getContent()));
                    }
                }
            }
            List<String> users = turns.stream().filter(t -> t.getRole().equals("user"))
                    .map(Turn::getContent).filter(u -> !elicitations.contains(u)).toList();
            assertEquals(userSide, users, "queries and observations pass through in order");
            for (String answer : finals) {
                assertTrue(turns.stream().anyMatch(t -> t.getRole().equals("assistant") && t.getContent().equals(answer)
                        && t.getCapability().equals("reasoning")), "final answer turn in " + c.getId());
            }
        }
        long finishes = aligned.stream().mapToLong(c -> rawEntryFinishes(c.getId())).sum();
        assertTrue(finishes >= 5, "the fixtures exercise Finish: " + finishes);
    }

    @Test
    void formatAlignmentSplitsAgentInstructThoughtsFromActions() throws IOException {
        Path file = SparkTestSession.sampleData().resolve("agentinstruct/agentinstruct_sample.jsonl");
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0"), SEED);
        Map<String, Conversation> aligned = alignment.apply(ConversationReader.read(spark, new SourceSpec("agentinstruct",
                file.toString(), SourceFormat.AGENT_INSTRUCT, 1.0)).conversations()).collectAsList().stream()
                .collect(Collectors.toMap(Conversation::getId, c -> c));
        Set<String> askAction = new HashSet<>(Elicitations.ACTION.phrasings());
        for (String line : Files.readAllLines(file)) {
            JsonNode raw = JSON.readTree(line);
            List<String> actions = new ArrayList<>();
            for (JsonNode turn : raw.get("conversations")) {
                String value = turn.get("value").asText();
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "(?s)(?:Think|Thought|THOUGHT):.*?\\n\\s*(?:Act|Action|ACTION): *(.*?)\\s*").matcher(value);
                if (turn.get("from").asText().equals("gpt") && m.matches()) {
                    actions.add(m.group(1));
                }
            }
            List<Turn> turns = aligned.get(raw.get("id").asText()).getTurns();
            List<String> elicited = new ArrayList<>();
            for (int i = 1; i < turns.size(); i++) {
                if (askAction.contains(turns.get(i - 1).getContent())) {
                    assertEquals("understanding", turns.get(i).getCapability());
                    elicited.add(turns.get(i).getContent());
                }
            }
            assertEquals(actions, elicited, raw.get("id").asText());
            assertTrue(actions.size() >= 1, "every sample trajectory has a thought-then-action step");
        }
    }

    @Test
    void formatAlignmentTurnsToolLlamaRecordsIntoChatWithoutTheFormatRequest() {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0"), SEED);
        List<Conversation> aligned = alignment.apply(ConversationReader.read(spark, new SourceSpec("toolllama",
                SparkTestSession.sampleData().resolve("toolllama/toolllama_sample.jsonl").toString(),
                SourceFormat.TOOLLLAMA, 1.0)).conversations()).collectAsList();
        assertEquals(24, aligned.size());
        for (Conversation c : aligned) {
            String system = c.getTurns().get(0).getContent();
            assertTrue(system.startsWith("You are AutoGPT") && system.contains(ReActPrompt.FUNCTIONS_HEADER));
            assertFalse(system.contains("Action Input:"), system);
            assertTrue(c.getTurns().stream().noneMatch(t -> t.getRole().equals("assistant")
                    && ReActStep.parse(t.getContent()).isPresent()));
            assertEquals(1, byCapability(c.getTurns(), Capability.RETRIEVAL).size(), "one tool call per sample record");
        }
    }

    private static long rawEntryFinishes(String id) {
        long n = 0;
        for (JsonNode m : rawEntry(id)) {
            JsonNode call = m.get("function_call");
            n += call != null && call.get("name").asText().equals("Finish") ? 1 : 0;
        }
        return n;
    }

    private static List<String> byCapability(List<Turn> turns, Capability capability) {
        return turns.stream().filter(t -> capability.key().equals(t.getCapability())).map(Turn::getContent).toList();
    }

    @Test
    void reactShareIsDecidedByHashAndKeepsThoseConversationsUntouched() {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0.3"), SEED);
        Map<String, Conversation> original = sorted(toolbench).stream()
                .collect(Collectors.toMap(Conversation::getId, c -> c));
        int kept = 0;
        for (Conversation c : sorted(alignment.apply(toolbench.repartition(7)))) {
            boolean same = c.equals(original.get(c.getId()));
            assertEquals(alignment.keepsReAct(c.getId()), same, c.getId());
            kept += same ? 1 : 0;
        }
        assertTrue(kept > 0 && kept < 32, "0.3 of 32 keeps some, not all: " + kept);

        FormatAlignment tenth = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS), SEED);
        long share = java.util.stream.IntStream.range(0, 20000).filter(i -> tenth.keepsReAct("conv-" + i)).count();
        assertEquals(0.10, share / 20000.0, 0.01, "default share kept in ReAct form");
    }

    @Test
    void alignmentAndTaggingDoNotDependOnPartitioning() {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0.5"), SEED);
        CapabilityTagger tagger = new CapabilityTagger(defaults(CapabilityTaggerConfig.class, CapabilityTaggerConfig.DEFAULTS));
        CapabilityBalancer balancer = new CapabilityBalancer(
                defaults(CapabilityBalancerConfig.class, CapabilityBalancerConfig.DEFAULTS), SEED);
        List<Conversation> one = sorted(balancer.apply(tagger.apply(alignment.apply(toolbench.repartition(1)))));
        List<Conversation> seven = sorted(balancer.apply(tagger.apply(alignment.apply(toolbench.repartition(7)))));
        assertEquals(one, seven);
    }

    @Test
    void taggerTagsEveryAssistantTurnByItsShape() {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0.5"), SEED);
        CapabilityTagger tagger = new CapabilityTagger(defaults(CapabilityTaggerConfig.class, CapabilityTaggerConfig.DEFAULTS));
        for (Conversation c : tagger.apply(alignment.apply(toolbench)).collectAsList()) {
            boolean react = alignment.keepsReAct(c.getId());
            for (Turn t : c.getTurns()) {
                if (!t.getRole().equals("assistant")) {
                    assertEquals(null, t.getCapability());
                } else if (react) {
                    assertEquals("instruction_following", t.getCapability(), t.toString());
                } else {
                    assertNotNull(t.getCapability());
                    assertFalse(t.getCapability().equals("instruction_following") || t.getCapability().equals("chat"));
                }
            }
        }
        for (Conversation c : tagger.apply(sharegpt).collectAsList()) {
            c.getTurns().stream().filter(t -> t.getRole().equals("assistant"))
                    .forEach(t -> assertEquals("chat", t.getCapability()));
        }
        // Already-decomposed release data carries no tags: the shapes decide.
        Dataset<Conversation> tflan = ConversationReader.read(spark, new SourceSpec("agent_flan",
                SparkTestSession.sampleData().resolve("agent-flan/toolbench_tflan_sample.jsonl").toString(),
                SourceFormat.AGENT_FLAN, 1.0)).conversations();
        for (Conversation c : tagger.apply(tflan).collectAsList()) {
            List<String> tags = c.getTurns().stream().filter(t -> t.getRole().equals("assistant"))
                    .map(Turn::getCapability).toList();
            assertEquals(List.of("reasoning", "retrieval", "understanding", "reasoning"), tags, c.getId());
        }
        Dataset<Conversation> negativesA = ConversationReader.read(spark, new SourceSpec("negative_a",
                SparkTestSession.sampleData().resolve("agent-flan/toolbench_negative_sample.jsonl").toString(),
                SourceFormat.AGENT_FLAN, 1.0)).conversations();
        for (Conversation c : tagger.apply(negativesA).collectAsList()) {
            assertEquals("chat", c.getTurns().get(2).getCapability(), "no tools, no observation: plain chat");
        }
    }

    @Test
    void balancerKeepsThePapersRatiosOfLossTurns() {
        FormatAlignment alignment = new FormatAlignment(
                defaults(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, "react_share=0"), SEED);
        CapabilityTagger tagger = new CapabilityTagger(defaults(CapabilityTaggerConfig.class, CapabilityTaggerConfig.DEFAULTS));
        // 40 distinct-id copies of each real conversation give enough turns to measure the ratios.
        Dataset<Conversation> tagged = tagger.apply(alignment.apply(
                new SourceMixer(Map.of("toolbench", 40.0), SEED).apply(toolbench))).cache();
        CapabilityBalancer balancer = new CapabilityBalancer(
                defaults(CapabilityBalancerConfig.class, CapabilityBalancerConfig.DEFAULTS), SEED);
        Map<String, Conversation> before = tagged.collectAsList().stream()
                .collect(Collectors.toMap(Conversation::getId, c -> c));
        Map<String, int[]> counts = new HashMap<>();
        for (Conversation c : balancer.apply(tagged).collectAsList()) {
            Conversation b = before.get(c.getId());
            assertEquals(b.getTurns().size(), c.getTurns().size());
            for (int i = 0; i < c.getTurns().size(); i++) {
                Turn t = c.getTurns().get(i);
                Turn o = b.getTurns().get(i);
                assertEquals(o.getContent(), t.getContent(), "text is kept as context");
                assertTrue(o.isLoss() || !t.isLoss(), "no turn gains loss");
                if (o.isLoss()) {
                    int[] n = counts.computeIfAbsent(t.getCapability(), k -> new int[2]);
                    n[0]++;
                    n[1] += t.isLoss() ? 1 : 0;
                }
            }
        }
        assertEquals(1.0, share(counts, "reasoning"));
        assertEquals(0.25, share(counts, "retrieval"), 0.05);
        assertEquals(0.75, share(counts, "understanding"), 0.05);
        assertTrue(counts.get("retrieval")[0] > 2000, "enough turns to measure: " + counts.get("retrieval")[0]);

        // A conversation left with nothing to learn is not dropped here, where it could only vanish: it goes on
        // (with where it was read) to the tokenize stage, which rejects it and counts it (PrepareJobTest).
        CapabilityBalancer none = new CapabilityBalancer(defaults(CapabilityBalancerConfig.class,
                CapabilityBalancerConfig.DEFAULTS, "reasoning=0", "retrieval=0", "understanding=0"), SEED);
        List<Conversation> unlearnable = none.apply(tagged).collectAsList();
        assertEquals(before.size(), unlearnable.size());
        for (Conversation c : unlearnable) {
            assertTrue(c.getTurns().stream().noneMatch(Turn::isLoss), c.getId());
            assertEquals(before.get(c.getId()).getFile(), c.getFile());
            assertEquals(before.get(c.getId()).getLine(), c.getLine());
        }

        // Limited to other sources (the release files are rebalanced already), the balancer leaves these alone.
        CapabilityBalancer elsewhere = new CapabilityBalancer(defaults(CapabilityBalancerConfig.class,
                CapabilityBalancerConfig.DEFAULTS, "retrieval=0", "sources=[agentinstruct]"), SEED);
        for (Conversation c : elsewhere.apply(tagged).collectAsList()) {
            assertEquals(before.get(c.getId()).getTurns(), c.getTurns(), c.getId());
        }
    }

    private static double share(Map<String, int[]> counts, String capability) {
        int[] n = counts.get(capability);
        return n[1] / (double) n[0];
    }

    @Test
    void negativesPairARealToolListWithAChatAnsweredWithoutACall() throws IOException {
        Dataset<Conversation> corpus = toolbench.union(sharegpt);
        NegativeSampler sampler = new NegativeSampler(defaults(NegativeSamplerConfig.class, NegativeSamplerConfig.DEFAULTS,
                "count=60"), SEED);
        List<Conversation> negatives = sorted(sampler.build(corpus));
        assertEquals(60, negatives.size());
        assertEquals(sorted(sampler.build(corpus.repartition(7).sort("id"))), negatives, "independent of partitioning and order");

        Set<JsonNode> realToolLists = new HashSet<>();
        for (JsonNode answer : rawAnswers.values()) {
            if (answer.get("valid_data").booleanValue()) {
                realToolLists.add(answer.get("function"));
            }
        }
        Map<String, Set<String>> firstAnswers = new HashMap<>();
        for (JsonNode chat : JSON.readTree(SparkTestSession.sampleData().resolve("sharegpt/dummy_conversation.json").toFile())) {
            firstAnswers.computeIfAbsent(chat.get("conversations").get(0).get("value").asText(), k -> new HashSet<>())
                    .add(chat.get("conversations").get(1).get("value").asText());
        }
        String prompt = defaults(NegativeSamplerConfig.class, NegativeSamplerConfig.DEFAULTS).systemPrompt();
        Set<String> distinctChats = new HashSet<>();
        for (Conversation c : negatives) {
            assertEquals("negative_tools_chat", c.getSource());
            assertEquals(List.of("system", "user", "assistant"), c.getTurns().stream().map(Turn::getRole).toList());
            String system = c.getTurns().get(0).getContent();
            assertTrue(system.startsWith(prompt));
            assertTrue(realToolLists.contains(JSON.readTree(system.substring(prompt.length()))), "a real ToolBench tool list");
            String question = c.getTurns().get(1).getContent();
            assertTrue(firstAnswers.get(question).contains(c.getTurns().get(2).getContent()), "the chat's own answer, no call");
            assertTrue(c.getTurns().get(2).isLoss());
            assertEquals(Capability.CHAT.key(), c.getTurns().get(2).getCapability(), "built after tagging, tagged chat");
            distinctChats.add(question);
        }
        assertTrue(distinctChats.size() > 20, "picks spread over the chats: " + distinctChats.size());

        NegativeSampler byRatio = new NegativeSampler(defaults(NegativeSamplerConfig.class, NegativeSamplerConfig.DEFAULTS,
                "ratio=0.5"), SEED);
        assertEquals(16, byRatio.build(corpus).count(), "half of the 32 ToolBench conversations");
    }

    @Test
    void mixerDownAndUpSamplesByWeightWithDistinctIdsWhateverThePartitioning() {
        Dataset<Conversation> corpus = toolbench.union(sharegpt);
        SourceMixer mixer = SourceMixer.of(List.of(
                new SourceSpec("toolbench", "x", SourceFormat.TOOLBENCH_RAW, 0.5),
                new SourceSpec("sharegpt", "y", SourceFormat.SHAREGPT, 2.5)), SEED);
        List<Conversation> one = sorted(mixer.apply(corpus.repartition(1)));
        List<Conversation> seven = sorted(mixer.apply(corpus.repartition(7)));
        assertEquals(one, seven);
        assertEquals(one.size(), one.stream().map(Conversation::getId).distinct().count(), "copies get distinct ids");
        long tools = one.stream().filter(c -> c.getSource().equals("toolbench")).count();
        long chats = one.stream().filter(c -> c.getSource().equals("sharegpt")).count();
        assertTrue(tools > 6 && tools < 26, "about half of 32: " + tools);
        assertTrue(chats >= 1000 && chats <= 1500, "2 or 3 copies of 500: " + chats);
        assertEquals(1250, chats, 60, "2.5 copies on average");
        assertTrue(one.stream().filter(c -> c.getId().endsWith("#copy2")).count() > 150);
        assertTrue(one.stream().noneMatch(c -> c.getId().endsWith("#copy3")));

        SourceMixer identity = new SourceMixer(Map.of(), SEED);
        assertEquals(sorted(corpus), sorted(identity.apply(corpus)), "weight 1 by default: unchanged");
        assertEquals(0, new SourceMixer(Map.of("toolbench", 0.0, "sharegpt", 0.0), SEED).apply(corpus).count());
    }
}
