package org.agentflan.dataprep.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.agentflan.dataprep.SparkTestSession;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.agentflan.dataprep.model.Turn;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each reader on the bundled inputs, checked against the raw JSON as parsed here, independently of the reader. */
class ConversationReaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = SparkTestSession.start("ConversationReaderTest");
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static Map<String, Conversation> byId(List<Conversation> conversations) {
        Map<String, Conversation> map = new HashMap<>();
        for (Conversation c : conversations) {
            assertNull(map.put(c.getId(), c), "duplicate id " + c.getId());
        }
        return map;
    }

    private static List<JsonNode> jsonLines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    @Test
    void toolbenchAnswerTreesBecomeOneReActConversationPerTrainMessagesEntry() throws IOException {
        Path dir = SparkTestSession.sampleData().resolve("toolbench-raw");
        ReadResult result = ConversationReader.read(spark,
                new SourceSpec("toolbench", dir.resolve("*.json").toString(), SourceFormat.TOOLBENCH_RAW, 1.0));
        Map<String, Conversation> read = byId(result.conversations().collectAsList());
        List<Reject> rejects = result.rejects().collectAsList();

        int expectedConversations = 0;
        List<String> invalidFiles = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                JsonNode answer = JSON.readTree(file.toFile()).get("answer_generation");
                if (!answer.get("valid_data").booleanValue()) {
                    invalidFiles.add(file.getFileName().toString());
                    continue;
                }
                JsonNode entries = answer.get("train_messages");
                for (int i = 0; i < entries.size(); i++) {
                    expectedConversations++;
                    Conversation c = read.get(file.getFileName() + "#" + i);
                    assertEquals("toolbench", c.getSource());
                    assertReAct(entries.get(i), answer.get("function"), c.getTurns());
                }
            }
        }
        assertEquals(32, expectedConversations, "the bundled fixtures hold 32 valid train_messages entries");
        assertEquals(expectedConversations, read.size());
        assertEquals(List.of("G1_69.json", "G3_8.json"), invalidFiles);
        assertEquals(invalidFiles, rejects.stream().map(Reject::getFile).sorted().toList());
        for (Reject r : rejects) {
            assertEquals(-1, r.getLine());
            assertEquals("marked_invalid", r.getKind());
            assertTrue(r.getReason().contains("valid_data is false"), r.getReason());
        }
        Conversation first = read.get("G1_10.json#0");
        assertEquals("G1_10.json", first.getFile(), "a conversation knows where it was read");
        assertEquals(0, first.getLine(), "its train_messages entry");
        assertNull(first.getSplit());
    }

    /** The ToolLLaMA convention, restated from docs/method.md section 2 on the raw messages. */
    private static void assertReAct(JsonNode messages, JsonNode functions, List<Turn> turns) throws IOException {
        List<String> expected = new ArrayList<>();
        String thought = null;
        for (JsonNode m : messages) {
            String role = m.get("role").asText();
            JsonNode content = m.get("content");
            String text = content == null || content.isNull() || content.asText().isBlank() ? null : content.asText().strip();
            if (role.equals("assistant")) {
                thought = thought == null ? text : text == null ? thought : thought + "\n" + text;
                JsonNode call = m.get("function_call");
                if (call != null) {
                    expected.add("assistant|Thought: " + (thought == null ? "" : thought) + "\nAction: "
                            + call.get("name").asText() + "\nAction Input: " + call.get("arguments").asText());
                    thought = null;
                }
            } else {
                expected.add((role.equals("system") ? "system" : "user") + "|"
                        + (role.equals("function") ? "Observation: " : "") + content.asText());
            }
        }
        if (thought != null) {
            expected.add("assistant|Thought: " + thought);
        }
        assertEquals(expected.size(), turns.size());
        for (int t = 0; t < turns.size(); t++) {
            Turn turn = turns.get(t);
            String[] e = expected.get(t).split("\\|", 2);
            assertEquals(e[0], turn.getRole());
            assertEquals(e[0].equals("assistant"), turn.isLoss());
            if (e[0].equals("system")) {
                assertTrue(turn.getContent().startsWith(e[1]));
                String functionList = turn.getContent().substring(turn.getContent().lastIndexOf("following APIs: ") + 16);
                assertEquals(functions, JSON.readTree(functionList));
                assertTrue(turn.getContent().contains("Thought:") && turn.getContent().contains("Action Input:"));
            } else {
                assertEquals(e[1], turn.getContent());
            }
        }
    }

    @Test
    void shareGptJsonArrayMapsRolesAndKeepsIds() throws IOException {
        Path file = SparkTestSession.sampleData().resolve("sharegpt/dummy_conversation.json");
        ReadResult result = ConversationReader.read(spark, new SourceSpec("sharegpt", file.toString(), SourceFormat.SHAREGPT, 1.0));
        Map<String, Conversation> read = byId(result.conversations().collectAsList());
        JsonNode raw = JSON.readTree(file.toFile());
        assertEquals(raw.size(), read.size());
        assertEquals(0, result.rejects().count());
        Map<String, String> roles = Map.of("human", "user", "gpt", "assistant", "system", "system");
        for (JsonNode r : raw) {
            Conversation c = read.get(r.get("id").asText());
            JsonNode turns = r.get("conversations");
            assertEquals(turns.size(), c.getTurns().size());
            for (int i = 0; i < turns.size(); i++) {
                Turn t = c.getTurns().get(i);
                assertEquals(roles.get(turns.get(i).get("from").asText()), t.getRole());
                assertEquals(turns.get(i).get("value").asText(), t.getContent());
                assertEquals(t.getRole().equals("assistant"), t.isLoss());
            }
        }
    }

    @Test
    void agentFlanReleaseSchemaHonoursLossPerTurn() throws IOException {
        Path dir = SparkTestSession.sampleData().resolve("agent-flan");
        ReadResult result = ConversationReader.read(spark, new SourceSpec("agent_flan", dir.toString(), SourceFormat.AGENT_FLAN, 1.0));
        Map<String, Conversation> read = byId(result.conversations().collectAsList());
        assertEquals(0, result.rejects().count());
        int expected = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".jsonl")).toList()) {
                for (JsonNode r : jsonLines(file)) {
                    expected++;
                    Conversation c = read.get(r.get("id").asText());
                    JsonNode turns = r.get("conversation");
                    assertEquals(turns.size(), c.getTurns().size());
                    for (int i = 0; i < turns.size(); i++) {
                        assertEquals(turns.get(i).get("role").asText(), c.getTurns().get(i).getRole());
                        assertEquals(turns.get(i).get("content").asText(), c.getTurns().get(i).getContent());
                        assertEquals(turns.get(i).get("loss").asBoolean(), c.getTurns().get(i).isLoss());
                    }
                }
            }
        }
        assertEquals(expected, read.size());
        assertTrue(expected >= 30);
    }

    @Test
    void agentInstructHonoursLossAndToolLlamaFunctionTurnsBecomeObservations() throws IOException {
        Path ai = SparkTestSession.sampleData().resolve("agentinstruct/agentinstruct_sample.jsonl");
        Map<String, Conversation> agentInstruct = byId(ConversationReader.read(spark,
                new SourceSpec("agentinstruct", ai.toString(), SourceFormat.AGENT_INSTRUCT, 1.0)).conversations().collectAsList());
        for (JsonNode r : jsonLines(ai)) {
            Conversation c = agentInstruct.get(r.get("id").asText());
            for (int i = 0; i < r.get("conversations").size(); i++) {
                JsonNode raw = r.get("conversations").get(i);
                assertEquals(raw.get("from").asText().equals("gpt") ? "assistant" : "user", c.getTurns().get(i).getRole());
                assertEquals(raw.get("loss").asBoolean(), c.getTurns().get(i).isLoss());
            }
        }
        assertEquals(jsonLines(ai).size(), agentInstruct.size());

        Path tl = SparkTestSession.sampleData().resolve("toolllama/toolllama_sample.jsonl");
        Map<String, Conversation> toolLlama = byId(ConversationReader.read(spark,
                new SourceSpec("toolllama", tl.toString(), SourceFormat.TOOLLLAMA, 1.0)).conversations().collectAsList());
        assertEquals(jsonLines(tl).size(), toolLlama.size());
        for (JsonNode r : jsonLines(tl)) {
            Conversation c = toolLlama.get(r.get("id").asText());
            for (int i = 0; i < r.get("conversations").size(); i++) {
                JsonNode raw = r.get("conversations").get(i);
                Turn t = c.getTurns().get(i);
                switch (raw.get("from").asText()) {
                    case "function" -> {
                        assertEquals("user", t.getRole());
                        assertEquals("Observation: " + raw.get("value").asText(), t.getContent());
                    }
                    case "assistant" -> assertTrue(t.isLoss() && t.getContent().equals(raw.get("value").asText()));
                    default -> assertFalse(t.isLoss());
                }
            }
        }
    }

    @Test
    void everyBadRecordBecomesARejectWithFileLineAndReason() {
        ReadResult flan = ConversationReader.read(spark, new SourceSpec("flan",
                SparkTestSession.testResource("bad/agent_flan_bad.jsonl").toString(), SourceFormat.AGENT_FLAN, 1.0));
        Map<Long, String> reasons = flan.rejects().collectAsList().stream()
                .peek(r -> assertEquals("agent_flan_bad.jsonl", r.getFile()))
                .peek(r -> assertEquals("flan", r.getSource()))
                .collect(Collectors.toMap(Reject::getLine, r -> r.getKind() + ": " + r.getReason()));
        assertEquals(Map.of(
                2L, "malformed JSON",
                3L, "field 'conversation[0].content' must be a string, got number",
                4L, "missing field 'conversation'",
                5L, "field 'conversation[0].role' has unknown role 'tool'",
                6L, "empty conversation",
                7L, "no turn carries loss",
                8L, "invalid UTF-8 at byte 68 of the line",
                11L, "field 'conversation[0].loss' must be a boolean, got string",
                12L, "record must be a JSON object, got array").keySet(), reasons.keySet());
        // Each reject has a kind (what counts group by) and a reason naming the field or byte.
        assertStartsWith(reasons, 2L, "malformed_json: malformed JSON");
        assertStartsWith(reasons, 3L, "bad_field: field 'conversation[0].content' must be a string, got number");
        assertStartsWith(reasons, 4L, "bad_field: missing field 'conversation'");
        assertStartsWith(reasons, 5L, "bad_field: field 'conversation[0].role' has unknown role 'tool'");
        assertStartsWith(reasons, 6L, "empty_conversation: empty conversation");
        assertStartsWith(reasons, 7L, "no_loss_turn: no turn carries loss");
        assertStartsWith(reasons, 8L, "invalid_utf8: invalid UTF-8 at byte 68 of the line");
        assertStartsWith(reasons, 11L, "bad_field: field 'conversation[0].loss' must be a boolean, got string");
        assertStartsWith(reasons, 12L, "bad_field: record must be a JSON object, got array");
        List<Conversation> good = flan.conversations().collectAsList();
        assertEquals(2, good.size());
        assertEquals(Map.of("flan", new ReadResult.Counts(2, 9)), flan.countsBySource(), "one-pass counts agree with the datasets");
        assertTrue(good.stream().anyMatch(c -> c.getId().equals("good_1")));
        assertTrue(good.stream().anyMatch(c -> c.getId().matches("[0-9a-f]{32}")), "a content-hash id for the record without one");

        Map<Long, String> ai = reasonsByLine(ConversationReader.read(spark, new SourceSpec("ai",
                SparkTestSession.testResource("bad/agentinstruct_bad.jsonl").toString(), SourceFormat.AGENT_INSTRUCT, 1.0)));
        assertEquals(4, ai.size());
        assertStartsWith(ai, 2L, "bad_field: field 'conversations[0].from' has unknown value 'observation'");
        assertStartsWith(ai, 3L, "bad_field: field 'conversations[1].loss' must be a boolean, got number");
        assertStartsWith(ai, 4L, "no_loss_turn: no turn carries loss");
        assertStartsWith(ai, 5L, "bad_field: missing field 'conversations[0].value'");

        Map<Long, String> tl = reasonsByLine(ConversationReader.read(spark, new SourceSpec("tl",
                SparkTestSession.testResource("bad/toolllama_bad.jsonl").toString(), SourceFormat.TOOLLLAMA, 1.0)));
        assertEquals(2, tl.size());
        assertStartsWith(tl, 2L, "bad_field: field 'conversations[0].from' has unknown value 'tool'");
        assertStartsWith(tl, 3L, "bad_field: field 'conversations' must be an array, got object");
    }

    @Test
    void shareGptArrayRejectsCarryTheElementIndex() {
        ReadResult result = ConversationReader.read(spark, new SourceSpec("sg",
                SparkTestSession.testResource("bad/sharegpt_bad.json").toString(), SourceFormat.SHAREGPT, 1.0));
        Map<Long, String> reasons = reasonsByLine(result);
        assertEquals(4, reasons.size());
        // The line is the element index; the reason does not repeat it, so kinds never split by element.
        assertStartsWith(reasons, 1L, "bad_field: field 'conversations[1].from' has unknown value 'bing'");
        assertStartsWith(reasons, 2L, "invalid_utf8: invalid UTF-8 at byte");
        assertStartsWith(reasons, 3L, "empty_conversation: empty conversation");
        assertStartsWith(reasons, 4L, "no_loss_turn: no turn carries loss");
        List<Conversation> good = result.conversations().collectAsList();
        assertEquals(2, good.size());
        assertEquals(List.of("system", "user", "assistant"),
                good.stream().filter(c -> !c.getId().equals("sg_ok")).findFirst().orElseThrow()
                        .getTurns().stream().map(Turn::getRole).toList());

        ReadResult truncated = ConversationReader.read(spark, new SourceSpec("sg",
                SparkTestSession.testResource("bad/sharegpt_truncated.json").toString(), SourceFormat.SHAREGPT, 1.0));
        assertEquals(2, truncated.conversations().count());
        Map<Long, String> cut = reasonsByLine(truncated);
        assertEquals(1, cut.size());
        assertStartsWith(cut, 2L, "malformed_json: malformed JSON array at element [2]");
    }

    @Test
    void toolbenchRejectsNameTheEntryOrTheWholeFile() {
        ReadResult result = ConversationReader.read(spark, new SourceSpec("tb",
                SparkTestSession.testResource("bad/toolbench").toString(), SourceFormat.TOOLBENCH_RAW, 1.0));
        Map<String, String> reasons = result.rejects().collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getFile() + ":" + r.getLine(), Reject::getReason));
        assertEquals(5, reasons.size(), reasons.toString());
        assertTrue(reasons.get("partly_bad.json:1").startsWith(
                "field 'answer_generation.train_messages[1][3].role' has unknown role 'tool'"), reasons.toString());
        assertTrue(reasons.get("partly_bad.json:2").startsWith(
                "field 'answer_generation.train_messages[2][2].content' must be a string or null, got number"));
        assertTrue(reasons.get("not_json.json:-1").startsWith("malformed JSON"));
        assertTrue(reasons.get("valid_type.json:-1").startsWith(
                "field 'answer_generation.valid_data' must be a boolean, got string"));
        assertTrue(reasons.get("bad_utf8.json:-1").startsWith("invalid UTF-8 at byte 53 of the file"));
        List<Conversation> good = result.conversations().collectAsList();
        assertEquals(1, good.size());
        assertEquals("partly_bad.json#0", good.get(0).getId());
        assertEquals("Thought: \nAction: x_for_y\nAction Input: {}", good.get(0).getTurns().get(2).getContent());
    }

    @Test
    void lineNumbersAndIdsDoNotDependOnHowFilesAreSplit() {
        SourceSpec spec = new SourceSpec("flan", SparkTestSession.testResource("bad/agent_flan_bad.jsonl").toString(),
                SourceFormat.AGENT_FLAN, 1.0);
        ReadResult whole = ConversationReader.read(spark, spec);
        List<Reject> wholeRejects = whole.rejects().collectAsList();
        List<Conversation> wholeConversations = whole.conversations().collectAsList();
        String key = "mapreduce.input.fileinputformat.split.maxsize";
        spark.sparkContext().hadoopConfiguration().set(key, "64");
        try {
            ReadResult split = ConversationReader.read(spark, spec);
            assertTrue(split.outcomes().getNumPartitions() > 5, "the file must really be split");
            assertEquals(wholeRejects, split.rejects().collectAsList());
            assertEquals(wholeConversations, split.conversations().collectAsList());
        } finally {
            spark.sparkContext().hadoopConfiguration().unset(key);
        }
    }

    @Test
    void talliesCountEachRecordOnceHoweverOftenTheInputIsParsed() {
        SourceSpec spec = new SourceSpec("flan", SparkTestSession.testResource("bad/agent_flan_bad.jsonl").toString(),
                SourceFormat.AGENT_FLAN, 1.0);
        String key = "mapreduce.input.fileinputformat.split.maxsize";
        spark.sparkContext().hadoopConfiguration().set(key, "64");
        try {
            ReadResult fresh = ConversationReader.read(spark, spec);
            Map<String, ReadResult.Counts> counted = fresh.countsBySource(); // no job has parsed yet: one pass
            ReadResult reread = ConversationReader.read(spark, spec);
            long conversations = reread.conversations().count();
            long rejects = reread.rejects().count();
            reread.conversations().count(); // every split parsed three times: its part is replaced, not added
            assertEquals(Map.of("flan", new ReadResult.Counts(conversations, rejects)), reread.countsBySource());
            assertEquals(counted, reread.countsBySource());
        } finally {
            spark.sparkContext().hadoopConfiguration().unset(key);
        }
    }

    @Test
    void conversationsKnowTheirLineAndLoneSurrogatesAreRejected(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        Map<String, Long> lineOfId = new HashMap<>();
        for (int i = 1; i <= 30; i++) {
            // Every 7th record holds half an emoji pair (a JSON escape without its other half); others a whole pair.
            String text = i % 7 == 0 ? (i % 2 == 0 ? "cut \\ud83d here" : "cut \\ude00 here") : "whole \\ud83d\\ude00";
            lines.add("{\"id\":\"r" + i + "\",\"conversation\":[{\"role\":\"user\",\"content\":\"q " + text
                    + "\",\"loss\":false},{\"role\":\"assistant\",\"content\":\"a\",\"loss\":true}]}");
            lineOfId.put("r" + i, (long) i);
        }
        Path file = Files.write(dir.resolve("surrogates.jsonl"), lines);
        String key = "mapreduce.input.fileinputformat.split.maxsize";
        spark.sparkContext().hadoopConfiguration().set(key, "256");
        try {
            ReadResult result = ConversationReader.read(spark, new SourceSpec("s", file.toString(), SourceFormat.AGENT_FLAN, 1.0));
            assertTrue(result.outcomes().getNumPartitions() > 3, "the file must really be split");
            List<Conversation> good = result.conversations().collectAsList();
            Map<String, Long> firstLines = result.firstLineOfEachSplit();
            assertEquals(26, good.size());
            for (Conversation c : good) {
                assertEquals("surrogates.jsonl", c.getFile());
                assertEquals(lineOfId.get(c.getId()), firstLines.get(c.getSplit()) + c.getLine() - 1,
                        "the line in its split plus the split's first line is the line in the file: " + c.getId());
                assertTrue(c.getTurns().get(0).getContent().endsWith("\uD83D\uDE00"), "a whole pair is a character");
            }
            Map<Long, String> rejects = reasonsByLine(result);
            assertEquals(List.of(7L, 14L, 21L, 28L), rejects.keySet().stream().sorted().toList());
            assertEquals("invalid_unicode: turn [0] (user) holds a lone surrogate \\uDE00 at char 6 (half of a pair:"
                    + " not a character, no UTF-8 form)", rejects.get(7L));
            assertStartsWith(rejects, 14L, "invalid_unicode: turn [0] (user) holds a lone surrogate \\uD83D at char 6");
        } finally {
            spark.sparkContext().hadoopConfiguration().unset(key);
        }
    }

    @Test
    void aWholeFileWithAnAtInItsNameKeepsItsRejects(@TempDir Path dir) throws IOException {
        // Split keys read "file@start"; a whole file's name may hold an '@' too, and must not be taken for a split.
        Files.writeString(dir.resolve("tree@1.json"), "not json");
        ReadResult result = ConversationReader.read(spark,
                new SourceSpec("toolbench", dir.resolve("*.json").toString(), SourceFormat.TOOLBENCH_RAW, 1.0));
        List<Reject> rejects = result.rejects().collectAsList();
        assertEquals(1, rejects.size());
        assertEquals("tree@1.json", rejects.get(0).getFile());
        assertEquals(-1, rejects.get(0).getLine());
        assertTrue(rejects.get(0).getReason().startsWith("malformed JSON"), rejects.get(0).getReason());
    }

    @Test
    void manyRejectsInOneSplitAreReadAgainWithTheirLines(@TempDir Path dir) throws IOException {
        // More bad lines than a tally part carries: the rejects come from a second parse, numbered the same way.
        List<String> lines = new ArrayList<>();
        int bad = ReadTally.MAX_REJECTS_PER_PART + 200;
        for (int i = 0; i < bad; i++) {
            lines.add(i % 100 == 0 ? "{\"conversation\":[{\"role\":\"user\",\"content\":\"q\",\"loss\":false},"
                    + "{\"role\":\"assistant\",\"content\":\"a" + i + "\",\"loss\":true}]}" : "not json " + i);
        }
        Path file = Files.write(dir.resolve("many_bad.jsonl"), lines);
        ReadResult result = ConversationReader.read(spark, new SourceSpec("flan", file.toString(), SourceFormat.AGENT_FLAN, 1.0));
        assertEquals(bad / 100, result.conversations().count());
        List<Reject> rejects = result.rejects().collectAsList();
        assertEquals(bad - bad / 100, rejects.size());
        assertEquals(Map.of("flan", new ReadResult.Counts(bad / 100, bad - bad / 100)), result.countsBySource());
        for (Reject r : rejects) {
            assertEquals("not json " + (r.getLine() - 1), r.getRecord(), "line " + r.getLine());
        }
    }

    @Test
    void shareGptJsonlReadsLikeTheJsonArray(@TempDir Path dir) throws IOException {
        Path array = SparkTestSession.sampleData().resolve("sharegpt/dummy_conversation.json");
        List<String> lines = new ArrayList<>();
        for (JsonNode chat : JSON.readTree(array.toFile())) {
            lines.add(JSON.writeValueAsString(chat));
        }
        Path jsonl = Files.write(dir.resolve("chats.jsonl"), lines);
        List<Conversation> fromArray = ConversationReader.read(spark,
                new SourceSpec("sharegpt", array.toString(), SourceFormat.SHAREGPT, 1.0)).conversations().collectAsList();
        ReadResult fromLines = ConversationReader.read(spark,
                new SourceSpec("sharegpt", jsonl.toString(), SourceFormat.SHAREGPT, 1.0));
        assertEquals(byId(fromArray), byId(fromLines.conversations().collectAsList()));
        assertEquals(0, fromLines.rejects().count());
    }

    @Test
    void derivedIdsDependOnTheRelativeFileNameNotTheFolder(@TempDir Path dir) throws IOException {
        Path bad = SparkTestSession.testResource("bad/agent_flan_bad.jsonl");
        Path a = Files.createDirectories(dir.resolve("a/deeper"));
        Path b = Files.createDirectories(dir.resolve("b"));
        Files.copy(bad, a.resolve("part.jsonl"));
        Files.copy(bad, b.resolve("part.jsonl"));
        Files.copy(bad, b.resolve("other.jsonl"));
        List<String> idsA = ids(ConversationReader.read(spark, new SourceSpec("s", a.toString(), SourceFormat.AGENT_FLAN, 1.0)));
        List<String> idsB = ids(ConversationReader.read(spark,
                new SourceSpec("s", b.resolve("part.jsonl").toString(), SourceFormat.AGENT_FLAN, 1.0)));
        assertEquals(idsA, idsB);
        List<String> both = ids(ConversationReader.read(spark, new SourceSpec("s", b + "/*.jsonl", SourceFormat.AGENT_FLAN, 1.0)));
        assertEquals(3, both.size(), "good_1 twice and two different derived ids: " + both);
        assertEquals(2, both.stream().filter(id -> id.matches("[0-9a-f]{32}")).distinct().count(),
                "the same record in two files gets two ids");
    }

    private static List<String> ids(ReadResult result) {
        return result.conversations().collectAsList().stream().map(Conversation::getId).sorted().distinct().toList();
    }

    @Test
    void aFolderOfFoldersAndAGlobOverFolderNamesReadWhatToolBenchShips(@TempDir Path dir) throws IOException {
        // ToolBench ships data/answer/G1_answer/, G2_answer/, G3_answer/: a folder of folders.
        Path sample = SparkTestSession.sampleData().resolve("toolbench-raw");
        Path answer = dir.resolve("answer");
        List<String> expectedFiles = new ArrayList<>();
        for (String name : List.of("G1_10.json", "G1_11.json", "G2_10.json", "G3_21.json")) {
            Path group = Files.createDirectories(answer.resolve(name.substring(0, 2) + "_answer"));
            Files.copy(sample.resolve(name), group.resolve(name));
            expectedFiles.add(name.substring(0, 2) + "_answer/" + name);
        }
        Files.writeString(answer.resolve("G1_answer/.DS_Store"), "not data");
        Files.createDirectories(answer.resolve("G2_answer/_temporary")).resolve("x.json").toFile().createNewFile();

        ReadResult folder = ConversationReader.read(spark, new SourceSpec("tb", answer.toString(), SourceFormat.TOOLBENCH_RAW, 1.0));
        List<Conversation> fromFolder = folder.conversations().collectAsList();
        assertEquals(expectedFiles, fromFolder.stream().map(Conversation::getFile).distinct().sorted().toList(),
                "every file in every group folder, named from the folder given, hidden and '_' names skipped");
        assertEquals(0, folder.rejects().count());

        ReadResult glob = ConversationReader.read(spark, new SourceSpec("tb", answer + "/G*_answer/*.json",
                SourceFormat.TOOLBENCH_RAW, 1.0));
        assertEquals(byId(fromFolder), byId(glob.conversations().collectAsList()), "the same files, names and ids");
        assertEquals(4, ConversationReader.inputFiles(new SourceSpec("tb", dir + "/*/G?_answer/G*.json",
                SourceFormat.TOOLBENCH_RAW, 1.0), spark.sparkContext().hadoopConfiguration()).size());
    }

    @Test
    void aPathMatchingNothingFailsBeforeAnyJob() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConversationReader.read(spark,
                new SourceSpec("missing", "/nonexistent/dir/*.jsonl", SourceFormat.AGENT_FLAN, 1.0)));
        assertTrue(e.getMessage().contains("source 'missing': no input file matches path '/nonexistent/dir/*.jsonl'"));
    }

    /** "kind: reason" of each reject by line. */
    private static Map<Long, String> reasonsByLine(ReadResult result) {
        return result.rejects().collectAsList().stream()
                .collect(Collectors.toMap(Reject::getLine, r -> r.getKind() + ": " + r.getReason()));
    }

    private static void assertStartsWith(Map<Long, String> reasons, long line, String prefix) {
        String reason = reasons.get(line);
        assertTrue(reason != null && reason.startsWith(prefix), "line " + line + ": expected '" + prefix + "...', got " + reason);
    }
}
