package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.config.ConfigException;
import org.agentflan.dataprep.tokenize.TestPaths;
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
    void overLengthPoliciesAndManifestCountsThatAddUp() throws IOException {
        Path out = dir.resolve("drop");
        PrepareJob.Result result = PrepareJob.run(spark, config(out, "max_length=80", "over_length=drop"));
        JsonNode manifest = JSON.readTree(out.resolve("manifest.json").toFile());
        assertEquals(Manifest.FORMAT_VERSION, manifest.get("format_version").asInt());
        assertEquals("agent-flan", manifest.get("template").asText());
        assertEquals(org.agentflan.dataprep.tokenize.Llama2Tokenizer.sha256(TestPaths.tokenizer().resolve("tokenizer.json")),
                manifest.get("tokenizer_sha256").asText());
        assertEquals(42, manifest.get("seed").asLong());
        assertEquals(80, manifest.get("max_length").asInt());

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
                + " or input_ids[0] != 1 or num_loss_tokens = 0").count());
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
        assertTrue(rejects.stream().anyMatch(r -> r.get("reason").asText().startsWith("over_length")));

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
        assertEquals(30387, org.agentflan.dataprep.tokenize.Llama2Tokenizer.shared(TestPaths.tokenizer()).requireLlama2());
        ConfigException key = assertThrows(ConfigException.class, () -> config(out, "max_lenght=10"));
        assertTrue(key.getMessage().contains("max_lenght"), key.getMessage());
        ConfigException nested = assertThrows(ConfigException.class,
                () -> config(out, "sources=[{name: a, path: x, format: agent_flan, weight: 1, colour: red}]"));
        assertTrue(nested.getMessage().contains("sources[0].colour"), nested.getMessage());
        ConfigException unknownSource = assertThrows(ConfigException.class, () -> DataConfig.load(null, List.of(
                "sources=[{name: tools, path: x, format: toolbench_raw, weight: 1}]", "format_alignment.sources=[tool]")));
        assertTrue(unknownSource.getMessage().contains("format_alignment.sources names 'tool'"), unknownSource.getMessage());
        assertTrue(unknownSource.getMessage().contains("negatives.tool_sources names 'toolbench'"), unknownSource.getMessage());
        assertFalse(Files.exists(out));
    }
}
