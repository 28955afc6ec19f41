package org.agentflan.dataprep.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.dataprep.prepare.DataConfig;
import org.agentflan.dataprep.prepare.PrepareJob;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Llama2Tokenizer;
import org.apache.spark.sql.SparkSession;

/**
 * Data-stage throughput, not a test: {@code prepare} end to end on local[N] against the raw single-thread
 * tokenizer over the same rendered text, in one JVM. Generates a corpus of at least {@code --mb} MB by
 * replicating the bundled ShareGPT chats and Agent-FLAN samples with deterministic perturbations.
 * Run through scripts/bench-prepare.sh.
 */
public final class PrepareBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        String master = args.length > 2 ? args[2] : "local[2]";
        Path work = root.resolve("work/bench");
        Path corpus = work.resolve("corpus-" + mb + "mb-v2.jsonl");
        if (!Files.exists(corpus)) {
            generate(root, corpus, mb * 1_000_000L);
        }
        System.out.printf("corpus: %s (%.1f MB)%n", corpus, Files.size(corpus) / 1e6);

        // Baseline: the rendered text of every conversation, tokenized in one thread (rendering not timed).
        Path tokenizerDir = root.resolve("sample-data/llama2-tokenizer");
        List<String> texts = new ArrayList<>();
        for (String line : Files.readAllLines(corpus)) {
            texts.add(ChatTemplate.render(turns(JSON.readTree(line))).text());
        }
        Llama2Tokenizer tokenizer = Llama2Tokenizer.shared(tokenizerDir);
        tokenizer.encode(texts.get(0));
        Timed base = encodeAll(texts, tokenizer::encodeWhole);
        long baseTokens = base.tokens();
        double baseSeconds = base.seconds();
        // The tokenizer as the stage uses it (segment memo, starting empty), on one thread.
        Llama2Tokenizer memo = Llama2Tokenizer.load(tokenizerDir);
        Timed stage = encodeAll(texts, memo::encode);
        memo.close();
        // The ceiling of any parallel run on this machine: the same texts on two threads, each with its own
        // tokenizer instance (as prepare's task threads have), even and odd texts apart.
        long[] halfTokens = new long[2];
        Thread[] threads = new Thread[2];
        for (int h = 0; h < 2; h++) {
            int half = h;
            Llama2Tokenizer own = Llama2Tokenizer.load(tokenizerDir);
            own.encodeWhole(texts.get(0));
            threads[h] = new Thread(() -> {
                for (int i = half; i < texts.size(); i += 2) {
                    halfTokens[half] += own.encodeWhole(texts.get(i)).length;
                }
            });
        }
        long t2 = System.nanoTime();
        for (Thread t : threads) {
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        double twoSeconds = (System.nanoTime() - t2) / 1e9;
        texts.clear();

        // prepare, end to end (reading, transforms, sort, tokenize + mask, Parquet, rejects, manifest).
        long s0 = System.nanoTime();
        SparkSession spark = SparkSession.builder().master(master).appName("bench-prepare")
                .config("spark.ui.enabled", "false").getOrCreate();
        double startup = (System.nanoTime() - s0) / 1e9;
        DataConfig cfg = DataConfig.load(null, List.of(
                "sources=[{name: bench, path: '" + corpus + "', format: agent_flan, weight: 1.0}]",
                "tokenizer=" + tokenizerDir, "output=" + work.resolve("out"), "max_length=4096",
                "over_length=truncate_turns", "format_alignment.enabled=false", "negatives.enabled=false"));
        long p0 = System.nanoTime();
        PrepareJob.Result result = PrepareJob.run(spark, cfg);
        double prepSeconds = (System.nanoTime() - p0) / 1e9;
        spark.stop();
        long prepTokens = result.manifest().totals().tokens();

        double baseRate = baseTokens / baseSeconds;
        double prepRate = prepTokens / prepSeconds;
        System.out.println();
        System.out.println("| run | tokens | seconds | tokens/s | ratio |");
        System.out.println("|---|---:|---:|---:|---:|");
        System.out.printf("| raw tokenizer (one native call per text), 1 thread | %,d | %.1f | %,.0f | 1.00x |%n", baseTokens, baseSeconds, baseRate);
        System.out.printf("| raw tokenizer, 2 threads, own instances | %,d | %.1f | %,.0f | %.2fx |%n",
                halfTokens[0] + halfTokens[1], twoSeconds, (halfTokens[0] + halfTokens[1]) / twoSeconds,
                (halfTokens[0] + halfTokens[1]) / twoSeconds / baseRate);
        System.out.printf("| stage tokenizer (segment memo, empty at start), 1 thread | %,d | %.1f | %,.0f | %.2fx |%n",
                stage.tokens(), stage.seconds(), stage.tokens() / stage.seconds(),
                stage.tokens() / stage.seconds() / baseRate);
        System.out.printf("| prepare end to end, %s | %,d | %.1f | %,.0f | %.2fx |%n", master, prepTokens, prepSeconds,
                prepRate, prepRate / baseRate);
        System.out.println("stage tokenizer ids equal the raw tokenizer's on every text (checksum of all ids): "
                + (stage.checksum() == base.checksum() ? "yes" : "NO"));
        System.out.printf("Spark session start-up (not in the prepare time): %.1f s; emitted %,d samples%n", startup,
                result.manifest().totals().emitted());
        System.out.println("peak RSS (VmHWM) of this JVM: " + vmHwm());
    }

    /** Tokens, seconds and a checksum of all ids of one encoding pass. */
    private record Timed(long tokens, double seconds, long checksum) {}

    /** Encodes every text on this thread. */
    private static Timed encodeAll(List<String> texts, Function<String, int[]> encode) {
        long start = System.nanoTime();
        long tokens = 0;
        long checksum = 0;
        for (String text : texts) {
            int[] ids = encode.apply(text);
            tokens += ids.length;
            checksum = 31 * checksum + Arrays.hashCode(ids);
        }
        return new Timed(tokens, (System.nanoTime() - start) / 1e9, checksum);
    }

    private static List<Turn> turns(JsonNode record) {
        List<Turn> turns = new ArrayList<>();
        for (JsonNode t : record.get("conversation")) {
            turns.add(new Turn(t.get("role").asText(), t.get("content").asText(), t.get("loss").asBoolean(), null));
        }
        return turns;
    }

    /**
     * Writes Agent-FLAN release records: copy k of each seed conversation rotates its words by k and makes one word
     * in ten unique (a suffix from a running count), so that about a tenth of the words are new to the tokenizer's
     * memo, as rare words, names and numbers are in a natural corpus; pure rotation would repeat a few thousand
     * words and flatter the memo.
     */
    private static void generate(Path root, Path out, long bytes) throws IOException {
        List<List<Turn>> seeds = new ArrayList<>();
        for (JsonNode c : JSON.readTree(root.resolve("sample-data/sharegpt/dummy_conversation.json").toFile())) {
            List<Turn> turns = new ArrayList<>();
            for (JsonNode t : c.get("conversations")) {
                boolean gpt = t.get("from").asText().equals("gpt");
                turns.add(new Turn(gpt ? "assistant" : "user", t.get("value").asText(), gpt, null));
            }
            seeds.add(turns);
        }
        try (var files = Files.list(root.resolve("sample-data/agent-flan"))) {
            for (Path f : files.sorted().toList()) {
                for (String line : Files.readAllLines(f)) {
                    List<Turn> turns = new ArrayList<>();
                    for (JsonNode t : JSON.readTree(line).get("conversation")) {
                        turns.add(new Turn(t.get("role").asText(), t.get("content").asText(),
                                t.path("loss").asBoolean(t.get("role").asText().equals("assistant")), null));
                    }
                    seeds.add(turns);
                }
            }
        }
        Files.createDirectories(out.getParent());
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        long written = 0;
        long[] uniqueWords = {0};
        try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            for (int k = 0; written < bytes; k++) {
                for (int i = 0; i < seeds.size(); i++) {
                    ObjectNode record = JSON.createObjectNode().put("id", "bench-" + k + "-" + i);
                    ArrayNode conv = record.putArray("conversation");
                    for (Turn t : seeds.get(i)) {
                        conv.addObject().put("role", t.getRole()).put("content", rotate(t.getContent(), k, uniqueWords))
                                .put("loss", t.isLoss());
                    }
                    String line = record.toString();
                    w.write(line);
                    w.write('\n');
                    written += line.getBytes(StandardCharsets.UTF_8).length + 1;
                }
            }
        }
        Files.move(tmp, out);
    }

    private static String rotate(String text, int k, long[] uniqueWords) {
        String[] words = text.split(" ", -1);
        if (words.length < 2 || k == 0) {
            return text;
        }
        int shift = k % words.length;
        String[] out = new String[words.length];
        for (int i = 0; i < words.length; i++) {
            String word = words[(i + shift) % words.length];
            out[i] = (i + k) % 10 == 0 && !word.isEmpty() ? word + Long.toString(uniqueWords[0]++, 36) : word;
        }
        return String.join(" ", Arrays.asList(out));
    }

    private static String vmHwm() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return line.substring(6).trim();
            }
        }
        return "unknown";
    }
}
