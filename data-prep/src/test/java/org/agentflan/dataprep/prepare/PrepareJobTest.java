package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.agentflan.config.ConfigException;
import org.agentflan.dataprep.tokenize.MarkersInText;
import org.agentflan.dataprep.tokenize.OverLengthPolicy;
import org.agentflan.dataprep.tokenize.SampleEncoder;
import org.agentflan.dataprep.tokenize.TestPaths;
import org.agentflan.dataprep.tokenize.TextTools;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.Manifest;
import org.agentflan.format.SourceCounts;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole stage on real readers, real Spark (local[2]), real Parquet and the real tokenizer. */
class PrepareJobTest {
    static SparkSession spark;
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path dir;
    static Path release;

    @BeforeAll
    static void start() throws IOException {
        spark = SparkSession.builder().master("local[2]").appName("PrepareJobTest")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("{\"id\":\"r" + i + "\",\"conversation\":[{\"role\":\"user\",\"content\":\"question " + i
                    + " <s>?\",\"loss\":false},{\"role\":\"assistant\",\"content\":\"answer " + i + " " + "word ".repeat(i)
                    + "\",\"loss\":true},{\"role\":\"user\",\"content\":\"more\",\"loss\":false},"
                    + "{\"role\":\"assistant\",\"content\":\"" + "tail ".repeat(3 * i) + "\",\"loss\":true}]}");
        }
        lines.add("{not json");                                                                 // malformed
        lines.add("{\"id\":\"x1\",\"conversation\":[{\"role\":\"robot\",\"content\":\"hi\"}]}");  // unknown role
        lines.add("{\"id\":\"x2\",\"conversation\":[]}");                                        // empty
        lines.add("{\"id\":\"x3\",\"conversation\":[{\"role\":\"user\",\"content\":\"hi\",\"loss\":false}]}"); // no loss
        release = dir.resolve("release.jsonl");
        Files.write(release, lines);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static List<String> sources() {
        Path root = TestPaths.repoRoot();
        return List.of(
                "sources=[{name: release, path: '" + release + "', format: agent_flan, weight: 1.0},"
                        + "{name: toolbench, path: '" + root.resolve("sample-data/toolbench-raw") + "/*.json', format: toolbench_raw, weight: 1.0},"
                        + "{name: sharegpt, path: '" + root.resolve("sample-data/sharegpt/dummy_conversation.json") + "', format: sharegpt, weight: 1.0}]",
                "tokenizer=" + TestPaths.tokenizer());
    }

    static DataConfig config(Path out, String... more) {
        List<String> overrides = new ArrayList<>(sources());
        overrides.add("output=" + out);
        overrides.addAll(List.of(more));
        return DataConfig.load(null, overrides);
    }

    @Test
    void sameRowsInTheSameOrderWhateverThePartitioning() {
        Path one = dir.resolve("p1");
        Path three = dir.resolve("p3");
        Path auto = dir.resolve("p0");
        PrepareJob.run(spark, config(one, "partitions=1"));
        PrepareJob.run(spark, config(three, "partitions=3"));
        PrepareJob.run(spark, config(auto, "partitions=0"));
        List<String> rows = Shards.rows(spark, one);
        assertTrue(rows.size() > 40, "rows: " + rows.size());
        assertEquals(1, Shards.files(one).size());
        assertEquals(3, Shards.files(three).size());
        assertEquals(rows, Shards.rows(spark, three));
        assertEquals(rows, Shards.rows(spark, auto));
        List<String> order = rows.stream().map(r -> r.split(" ")[1]).toList();
        assertTrue(order.subList(0, 20).containsAll(List.of("release", "toolbench")), "sources are interleaved: " + order);
    }

    @Test
    void theConversationsBesideTheShardsAreTheSamplesInTheirOrderWithToolsAndNegativesMarked() throws IOException {
        Path out = dir.resolve("conversations");
        PrepareJob.Result result = PrepareJob.run(spark, config(out, "partitions=3", "negatives.count=6",
                "negatives.file_sources=[release]"));
        assertTrue(result.manifest().conversations());
        assertTrue(Manifest.read(out.resolve(Manifest.FILE_NAME)).conversations());
        List<ConversationRecord> records = ConversationRecord.readAll(out);
        try (Stream<Path> files = Files.list(out.resolve(ConversationRecord.DIR))) {
            assertEquals(3, files.filter(p -> p.toString().endsWith(ConversationRecord.FILE_SUFFIX)).count());
        }
        // The same samples in the same order as the shard rows: eval finds a shard row's conversation by its id.
        List<String> shardIds = Shards.rows(spark, out).stream().map(r -> r.split(" ")[0] + " " + r.split(" ")[1]).toList();
        assertEquals(shardIds, records.stream().map(r -> r.id() + " " + r.source()).toList());

        Map<String, List<ConversationRecord>> bySource = new TreeMap<>();
        records.forEach(r -> bySource.computeIfAbsent(r.source(), k -> new ArrayList<>()).add(r));
        assertEquals(List.of("negative_tools_chat", "release", "sharegpt", "toolbench"), List.copyOf(bySource.keySet()));
        ConversationRecord r7 = bySource.get("release").stream().filter(r -> r.id().equals("r7")).findFirst().orElseThrow();
        assertTrue(r7.negative(), "negatives.file_sources marks its sources' conversations negative");
        assertEquals(List.of(), r7.tools());
        assertEquals(ConversationRecord.GENERAL, r7.format());
        assertEquals(new ConversationRecord.Turn("user", "question 7 <s>?", false, null), r7.conversation().get(0));
        assertEquals("answer 7 " + "word ".repeat(7), r7.conversation().get(1).content());
        for (ConversationRecord n : bySource.get("negative_tools_chat")) {
            assertTrue(n.negative() && !n.tools().isEmpty() && n.tools().contains("Finish"), n.toString());
            assertEquals(ConversationRecord.GENERAL, n.format());
        }
        assertEquals(6, bySource.get("negative_tools_chat").size());
        for (ConversationRecord t : bySource.get("toolbench")) {
            assertFalse(t.negative());
            assertTrue(t.tools().contains("Finish"), t.toString());
        }
        // format_alignment keeps react_share of the ToolBench trajectories in ReAct form and decomposes the rest.
        assertTrue(bySource.get("toolbench").stream().anyMatch(t -> t.format().equals(ConversationRecord.GENERAL)));
        assertTrue(bySource.get("sharegpt").stream().noneMatch(ConversationRecord::negative));
    }

    @Test
    void overLengthPoliciesAndManifestCountsThatAddUp() throws IOException {
        Path out = dir.resolve("drop");
        PrepareJob.Result result = PrepareJob.run(spark, config(out, "max_length=80", "over_length=drop"));
        JsonNode manifest = JSON.readTree(out.resolve("manifest.json").toFile());
        assertEquals(Manifest.FORMAT_VERSION, manifest.get("format_version").asInt());
        assertEquals("agent-flan", manifest.get("template").asText());
        assertEquals(org.agentflan.format.Llama2Tokenizer.sha256(TestPaths.tokenizer().resolve("tokenizer.json")),
                manifest.get("tokenizer_sha256").asText());
        assertEquals(42, manifest.get("seed").asLong());
        assertEquals(80, manifest.get("max_length").asInt());
        Manifest read = Manifest.read(out.resolve(Manifest.FILE_NAME)); // the trainer's reader takes it as written
        assertEquals(result.manifest().sources(), read.sources());
        assertEquals(result.manifest().totals(), read.totals());

        JsonNode release = manifest.get("sources").get("release");
        assertEquals(44, release.get("read").asLong());
        assertEquals(40, release.get("parsed").asLong());
        assertTrue(release.get("rejected_reasons").get("over_length").asLong() > 0, release.toString());
        long emitted = 0;
        long rejected = 0;
        long tokens = 0;
        for (JsonNode s : manifest.get("sources")) {
            // Without transforms every parsed record is a candidate; each candidate is emitted or rejected.
            assertEquals(s.get("read").asLong(), s.get("parsed").asLong() + s.get("rejected").asLong()
                    - s.get("rejected_reasons").path("over_length").asLong(), s.toString());
            assertEquals(s.get("candidates").asLong(), s.get("emitted").asLong()
                    + s.get("rejected_reasons").path("over_length").asLong(), s.toString());
            long byReason = 0;
            for (JsonNode n : s.get("rejected_reasons")) byReason += n.asLong();
            assertEquals(s.get("rejected").asLong(), byReason);
            emitted += s.get("emitted").asLong();
            rejected += s.get("rejected").asLong();
            tokens += s.get("tokens").asLong();
        }
        JsonNode totals = manifest.get("totals");
        assertEquals(emitted, totals.get("emitted").asLong());
        assertEquals(rejected, totals.get("rejected").asLong());
        assertEquals(tokens, totals.get("tokens").asLong());
        assertEquals(result.manifest().totals().emitted(), emitted);

        // The shards hold exactly the emitted rows and tokens; every row fits and has a mask of its length.
        var shards = spark.read().parquet(out.resolve("shards").toString());
        assertEquals(emitted, shards.count());
        assertEquals(tokens, shards.selectExpr("sum(num_tokens)").first().getLong(0));
        assertEquals(0, shards.filter("size(input_ids) > 80 or size(input_ids) != size(loss_mask)"
                + " or size(capability_ids) != size(input_ids) or input_ids[0] != 1 or num_loss_tokens = 0").count());
        assertTrue(Files.list(out.resolve("shards")).anyMatch(p -> p.toString().endsWith(".zstd.parquet")));

        // rejects/ holds one line per rejected record, with file and line for reader rejects.
        List<JsonNode> rejects = new ArrayList<>();
        try (Stream<Path> files = Files.list(out.resolve("rejects"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(f)) rejects.add(JSON.readTree(line));
            }
        }
        assertEquals(rejected, rejects.size());
        assertTrue(rejects.stream().anyMatch(r -> r.path("file").asText().equals("release.jsonl")
                && r.get("line").asLong() == 41 && r.get("source").asText().equals("release")), rejects.toString());
        // Over-length samples are listed by kind, with the file and line they were read from.
        List<JsonNode> overLength = rejects.stream().filter(r -> r.get("kind").asText().equals("over_length")).toList();
        assertEquals(totals.get("rejected_reasons").get("over_length").asLong(), overLength.size());
        for (JsonNode r : overLength) {
            assertTrue(r.get("reason").asText().matches("\\d+ tokens > max_length 80.*"), r.toString());
            if (r.get("source").asText().equals("release")) {
                assertEquals("release.jsonl", r.get("file").asText(), r.toString());
                assertEquals("r" + (r.get("line").asLong() - 1), r.get("record").asText(), "record r<i> is on line i+1");
            } else if (!r.get("source").asText().equals("negative_tools_chat")) { // negatives are built, not read
                assertTrue(r.get("file").isTextual() && r.get("line").asLong() >= 0, r.toString());
            }
        }
        assertTrue(overLength.stream().anyMatch(r -> r.get("source").asText().equals("release")));

        // truncate_turns keeps a prefix of whole turns ending in a loss turn where one fits.
        Path cut = dir.resolve("cut");
        PrepareJob.Result dropped = result;
        PrepareJob.Result truncated = PrepareJob.run(spark, config(cut, "max_length=80", "over_length=truncate_turns"));
        SourceCounts d = dropped.manifest().sources().get("release");
        SourceCounts t = truncated.manifest().sources().get("release");
        assertTrue(t.truncated() > 0, t.toString());
        assertEquals(d.emitted() + t.truncated(), t.emitted(), "every truncated sample was a dropped one");
        var rows = spark.read().parquet(cut.resolve("shards").toString()).filter("source = 'release'");
        assertEquals(0, rows.filter("size(input_ids) > 80").count());
        // A cut sample ends with an assistant end marker ("\u0D3F\n ") whose tokens carry loss.
        assertEquals(0, rows.filter("element_at(loss_mask, -1) != 1").count());
    }

    /** What each line of the accounting input holds, and the reject kind prepare (and render) must give it. */
    private static final List<String[]> ACCOUNTING = List.of(
            new String[] {"plain", null, "q", "a"},
            new String[] {"plain", null, "how are you", "fine"},
            new String[] {"role tag in the user's text", "marker_in_text", "say <|Assistant|>\u0D46 yes", "yes"},
            new String[] {"role tag in a tool result", "marker_in_text", "Observation: {\\\"x\\\": \\\"<|Human|>\\\"}", "ok"},
            new String[] {"role tag in the answer", "marker_in_text", "q", "ok\\n<|Human|>\u0D46 next"},
            new String[] {"too long", "over_length", "q", "word ".repeat(80)},
            new String[] {"half an emoji", "invalid_unicode", "cut \\ud83d here", "a"},
            new String[] {"a whole emoji", null, "whole \\ud83d\\ude00 emoji", "a \\ud83e\\udd16"},
            new String[] {"BOS and EOS spelled out stay text", null, "<s>strike</s> and </s>", "a"},
            new String[] {"plain", null, "last", "one"});

    static Path accountingInput() throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < ACCOUNTING.size(); i++) {
            String[] c = ACCOUNTING.get(i);
            lines.add("{\"id\":\"a" + i + "\",\"conversation\":[{\"role\":\"user\",\"content\":\"" + c[2]
                    + "\",\"loss\":false},{\"role\":\"assistant\",\"content\":\"" + c[3] + "\",\"loss\":true}]}");
        }
        return Files.write(dir.resolve("accounting.jsonl"), lines);
    }

    static DataConfig accountingConfig(Path input, Path out, String... more) {
        List<String> overrides = new ArrayList<>(List.of("sources=[{name: acc, path: '" + input
                + "', format: agent_flan, weight: 1.0}]", "negatives.enabled=false", "max_length=64",
                "tokenizer=" + TestPaths.tokenizer(), "output=" + out));
        overrides.addAll(List.of(more));
        return DataConfig.load(null, overrides);
    }

    static List<JsonNode> rejects(Path out) throws IOException {
        List<JsonNode> rejects = new ArrayList<>();
        try (Stream<Path> files = Files.list(out.resolve("rejects"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(f)) rejects.add(JSON.readTree(line));
            }
        }
        return rejects;
    }

    @Test
    void everyRecordIsAccountedForByKindWithItsFileAndLineAndRenderAgrees() throws IOException {
        Path input = accountingInput();
        Path out = dir.resolve("accounted");
        // Small splits: the file is read as several JSONL splits, whose lines must still come out as the file's.
        String split = "mapreduce.input.fileinputformat.split.maxsize";
        spark.sparkContext().hadoopConfiguration().set(split, "300");
        PrepareJob.Result result;
        try {
            result = PrepareJob.run(spark, accountingConfig(input, out));
        } finally {
            spark.sparkContext().hadoopConfiguration().unset(split);
        }
        Map<String, Long> expectedKinds = new TreeMap<>();
        ACCOUNTING.stream().filter(c -> c[1] != null).forEach(c -> expectedKinds.merge(c[1], 1L, Long::sum));
        SourceCounts acc = result.manifest().sources().get("acc");
        assertEquals(expectedKinds, acc.rejectedReasons(), acc.toString());
        assertEquals(ACCOUNTING.size(), acc.read());
        assertEquals(ACCOUNTING.size(), acc.emitted() + acc.rejected(), "every record is emitted or rejected");
        assertEquals(3, acc.markersInText(), "role tags counted; <s> and </s> are not markers");

        // Each reject names its kind, file and line; the reason gives the details.
        Map<Long, JsonNode> byLine = new HashMap<>();
        for (JsonNode r : rejects(out)) {
            assertEquals("accounting.jsonl", r.get("file").asText(), r.toString());
            assertNull(byLine.put(r.get("line").asLong(), r), "one reject per line: " + r);
        }
        for (int i = 0; i < ACCOUNTING.size(); i++) {
            JsonNode r = byLine.get(i + 1L);
            assertEquals(ACCOUNTING.get(i)[1], r == null ? null : r.get("kind").asText(), ACCOUNTING.get(i)[0]);
        }
        assertTrue(byLine.get(3L).get("reason").asText().contains("turn [0] (user) holds the template marker '<|Assistant|>'"));
        assertTrue(byLine.get(5L).get("reason").asText().contains("turn [1] (assistant) holds the template marker '<|Human|>'"));

        // render, run on the same file with the same settings, prints exactly the shard's rows and the same rejects.
        SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(TestPaths.tokenizer()), 64, OverLengthPolicy.DROP,
                false, MarkersInText.REJECT);
        ByteArrayOutputStream rendered = new ByteArrayOutputStream();
        TextTools.render(input, encoder, null, new PrintStream(rendered, true, StandardCharsets.UTF_8));
        List<String> renderLines = rendered.toString(StandardCharsets.UTF_8).lines().toList();
        Map<String, Row> shard = new HashMap<>();
        for (Row row : spark.read().parquet(out.resolve("shards").toString()).collectAsList()) {
            shard.put(row.getAs("id"), row);
        }
        assertEquals(ACCOUNTING.size(), renderLines.size());
        for (int i = 0; i < ACCOUNTING.size(); i++) {
            JsonNode line = JSON.readTree(renderLines.get(i));
            Row row = shard.get("a" + i);
            if (line.has("rejected")) {
                assertNull(row, "rejected by render, absent from the shard: " + ACCOUNTING.get(i)[0]);
                assertEquals(byLine.get(i + 1L).get("kind").asText(), line.get("rejected").asText());
            } else {
                assertEquals(JSON.convertValue(line.get("input_ids"), List.class), row.getList(row.fieldIndex("input_ids")),
                        ACCOUNTING.get(i)[0]);
                assertEquals(JSON.convertValue(line.get("loss_mask"), List.class), row.getList(row.fieldIndex("loss_mask")),
                        ACCOUNTING.get(i)[0]);
            }
        }

        // markers_in_text: keep emits them (still counted); nothing else changes.
        SourceCounts kept = PrepareJob.run(spark, accountingConfig(input, dir.resolve("markers-kept"),
                "markers_in_text=keep")).manifest().sources().get("acc");
        assertEquals(3, kept.markersInText());
        assertEquals(acc.emitted() + 3, kept.emitted());
        assertFalse(kept.rejectedReasons().containsKey("marker_in_text"), kept.toString());
    }

    @Test
    void conversationsTheCapabilityRatiosLeaveWithoutLossAreRejectedAndListed() throws IOException {
        Path input = accountingInput();
        Path out = dir.resolve("unlearnable");
        SourceCounts acc = PrepareJob.run(spark, accountingConfig(input, out, "capability_balance.reasoning=0",
                "capability_balance.chat=0", "capability_balance.retrieval=0", "capability_balance.understanding=0",
                "capability_balance.instruction_following=0")).manifest().sources().get("acc");
        assertEquals(0, acc.emitted());
        assertEquals(acc.candidates(), acc.rejectedReasons().get("no_loss_turn"), acc.toString());
        List<JsonNode> rejects = rejects(out);
        assertEquals(acc.rejected(), rejects.size());
        for (JsonNode r : rejects.stream().filter(r -> r.get("kind").asText().equals("no_loss_turn")).toList()) {
            assertEquals("accounting.jsonl", r.get("file").asText());
            assertEquals("a" + (r.get("line").asLong() - 1), r.get("record").asText(), r.toString());
        }
    }

    @Test
    void aFailedRunLeavesThePreviousCorpusAndSaysWhyInOneLine() throws IOException {
        Path out = dir.resolve("kept");
        PrepareJob.run(spark, config(out, "max_length=200"));
        byte[] manifest = Files.readAllBytes(out.resolve("manifest.json"));
        List<String> rows = Shards.rows(spark, out);

        // Fails after the run has started (the reader cannot list a file system that does not exist).
        PrepareJob.Failed failed = assertThrows(PrepareJob.Failed.class, () -> PrepareJob.run(spark, config(out,
                "sources=[{name: release, path: 'nosuch://host/release.jsonl', format: agent_flan, weight: 1}]",
                "negatives.enabled=false")));
        assertFalse(failed.getMessage().contains("\n"), failed.getMessage());
        assertTrue(failed.getMessage().startsWith("prepare failed, " + out + " still holds the previous corpus: "),
                failed.getMessage());
        assertTrue(failed.getMessage().contains("nosuch"), failed.getMessage());
        assertArrayEquals(manifest, Files.readAllBytes(out.resolve("manifest.json")));
        assertEquals(rows, Shards.rows(spark, out));
        assertEquals(List.of("kept"), siblings(out), "the staging folder is removed");

        // A complete run replaces the corpus whole; no staging or set-aside folder stays behind.
        PrepareJob.run(spark, config(out, "max_length=80"));
        assertEquals(80, JSON.readTree(out.resolve("manifest.json").toFile()).get("max_length").asInt());
        assertTrue(Shards.rows(spark, out).size() < rows.size());
        assertEquals(List.of("kept"), siblings(out));
    }

    @Test
    void anOutputThatIsNotACorpusIsRefusedNotEmptied() throws IOException {
        Path out = Files.createDirectories(dir.resolve("home"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> PrepareJob.run(spark, config(out)));
        assertTrue(refused.getMessage().contains("holds 'notes.txt', which is not part of a corpus"), refused.getMessage());
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
    }

    /** The names in the folder of {@code out} that start with its name. */
    private static List<String> siblings(Path out) throws IOException {
        try (Stream<Path> files = Files.list(out.getParent())) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(out.getFileName().toString())).sorted().toList();
        }
    }

    @Test
    void inputsAsUsersHaveThemAndAFileListedTwiceNamesBothSources() throws IOException {
        Path answer = dir.resolve("toolbench/answer");
        for (String name : List.of("G1_10.json", "G2_10.json", "G3_21.json")) {
            Path group = Files.createDirectories(answer.resolve(name.substring(0, 2) + "_answer"));
            Files.copy(TestPaths.repoRoot().resolve("sample-data/toolbench-raw").resolve(name), group.resolve(name));
        }
        Path out = dir.resolve("inputs");
        String common = ", format: toolbench_raw, weight: 1}]";
        // A folder of folders, and a glob with a wildcard in a folder name, pass the checks before Spark.
        PrepareJob.preflight(config(out, "sources=[{name: toolbench, path: '" + answer + "'" + common,
                "negatives.enabled=false"));
        PrepareJob.preflight(config(out, "sources=[{name: toolbench, path: '" + answer + "/G*_answer/*.json'" + common,
                "negatives.enabled=false"));
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, () -> PrepareJob.preflight(config(
                out, "sources=[{name: toolbench, path: '" + answer + "/G9*/*.json'" + common, "negatives.enabled=false")));
        assertTrue(empty.getMessage().contains("source 'toolbench': no input file matches path"), empty.getMessage());

        // The same file reached by two sources (a folder and a glob inside it) is an error naming both.
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> PrepareJob.preflight(config(
                out, "sources=[{name: all, path: '" + answer + "', format: toolbench_raw, weight: 1},"
                        + " {name: g2, path: '" + answer + "/G2*/*.json', format: toolbench_raw, weight: 1},"
                        + " {name: again, path: '" + answer + "/', format: toolbench_raw, weight: 1}]",
                "negatives.enabled=false")));
        assertTrue(twice.getMessage().contains("sources 'all' and 'g2' both read 1 file: file:" + answer
                + "/G2_answer/G2_10.json"), twice.getMessage());
        assertTrue(twice.getMessage().contains("sources 'all' and 'again' both read 3 files"), twice.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void badSetupStopsBeforeSparkNamingTheFileOrKey() throws IOException {
        Path out = dir.resolve("never");
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> PrepareJob.preflight(
                DataConfig.load(null, List.of("sources=[{name: a, path: /nowhere/x.jsonl, format: agent_flan, weight: 1}]",
                        "tokenizer=" + TestPaths.tokenizer(), "output=" + out, "negatives.enabled=false"))));
        assertTrue(missing.getMessage().contains("/nowhere/x.jsonl"), missing.getMessage());
        IllegalArgumentException tokenizer = assertThrows(IllegalArgumentException.class,
                () -> PrepareJob.preflight(config(out, "tokenizer=/no/tokenizer")));
        assertTrue(tokenizer.getMessage().contains("/no/tokenizer"), tokenizer.getMessage());
        // A loadable tokenizer.json that is not Llama-2's (a character vocabulary of its own) is refused too.
        Path other = dir.resolve("other-tokenizer");
        Files.createDirectories(other);
        Files.writeString(other.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"added_tokens\": [],"
                + " \"normalizer\": null, \"pre_tokenizer\": null, \"post_processor\": null, \"decoder\": null,"
                + " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": false,"
                + " \"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2}, \"merges\": []}}");
        IllegalArgumentException notLlama = assertThrows(IllegalArgumentException.class,
                () -> PrepareJob.preflight(config(out, "tokenizer=" + other)));
        assertTrue(notLlama.getMessage().contains("it is not Llama-2's tokenizer"), notLlama.getMessage());
        assertTrue(notLlama.getMessage().contains(other.toString()), notLlama.getMessage());
        ConfigException key = assertThrows(ConfigException.class, () -> config(out, "max_lenght=10"));
        assertTrue(key.getMessage().contains("max_lenght"), key.getMessage());
        ConfigException nested = assertThrows(ConfigException.class,
                () -> config(out, "sources=[{name: a, path: x, format: agent_flan, weight: 1, colour: red}]"));
        assertTrue(nested.getMessage().contains("sources[0].colour"), nested.getMessage());
        ConfigException unknownSource = assertThrows(ConfigException.class, () -> DataConfig.load(null, List.of(
                "sources=[{name: tools, path: x, format: toolbench_raw, weight: 1}]", "format_alignment.sources=[tool]",
                "capability_balance.sources=[tols]")));
        assertTrue(unknownSource.getMessage().contains("format_alignment.sources names 'tool'"), unknownSource.getMessage());
        assertTrue(unknownSource.getMessage().contains("negatives.tool_sources names 'toolbench'"), unknownSource.getMessage());
        assertTrue(unknownSource.getMessage().contains("capability_balance.sources names 'tols'"), unknownSource.getMessage());
        assertFalse(Files.exists(out));
    }
}
