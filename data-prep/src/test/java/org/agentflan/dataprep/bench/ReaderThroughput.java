package org.agentflan.dataprep.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.dataprep.source.ConversationReader;
import org.agentflan.dataprep.source.ReadResult;
import org.agentflan.dataprep.source.SourceFormat;
import org.agentflan.dataprep.source.SourceSpec;
import org.apache.spark.sql.SparkSession;

/**
 * Reader throughput, not a test: builds an Agent-FLAN JSONL corpus of the requested size from the bundled
 * samples (unique ids), then reads it (a) with one thread of plain Jackson, the floor any reader pays, and
 * (b) with {@link ConversationReader} on local[N] (line-number pass, parse, one-pass counts of both outputs). Usage: ReaderThroughput OUT_DIR MEGABYTES [MASTER].
 */
public final class ReaderThroughput {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long megabytes = Long.parseLong(args[1]);
        String master = args.length > 2 ? args[2] : "local[2]";
        Path corpus = dir.resolve("corpus.jsonl");
        ObjectMapper json = new ObjectMapper();
        List<String> seed = Files.readAllLines(Path.of("../sample-data/agent-flan/toolbench_tflan_sample.jsonl"));
        Files.createDirectories(dir);
        long records = 0;
        try (BufferedWriter out = Files.newBufferedWriter(corpus, StandardCharsets.UTF_8)) {
            long bytes = 0;
            while (bytes < megabytes << 20) {
                ObjectNode r = (ObjectNode) json.readTree(seed.get((int) (records % seed.size())));
                r.put("id", "bench-" + records++);
                String line = json.writeValueAsString(r);
                out.write(line);
                out.write('\n');
                bytes += line.length() + 1;
            }
        }
        double mb = Files.size(corpus) / 1048576.0;

        long t0 = System.nanoTime();
        long parsed = 0;
        try (BufferedReader in = Files.newBufferedReader(corpus, StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                parsed += json.readTree(line).get("conversation").size() > 0 ? 1 : 0;
            }
        }
        double jacksonSeconds = (System.nanoTime() - t0) / 1e9;

        SparkSession spark = SparkSession.builder().master(master).appName("ReaderThroughput")
                .config("spark.ui.enabled", "false").getOrCreate();
        SourceSpec spec = new SourceSpec("bench", corpus.toString(), SourceFormat.AGENT_FLAN, 1.0);
        ConversationReader.read(spark, spec).countsBySource(); // warm-up: JIT, codegen
        long t1 = System.nanoTime();
        ReadResult.Counts counts = ConversationReader.read(spark, spec).countsBySource().get(spec.name());
        long conversations = counts.conversations();
        long rejects = counts.rejects();
        double sparkSeconds = (System.nanoTime() - t1) / 1e9;
        spark.stop();

        System.out.printf("corpus: %.1f MB, %d records%n", mb, records);
        System.out.printf("| reader | seconds | MB/s | records/s |%n|---|---|---|---|%n");
        System.out.printf("| Jackson readTree, 1 thread | %.2f | %.1f | %.0f |%n", jacksonSeconds, mb / jacksonSeconds,
                parsed / jacksonSeconds);
        System.out.printf("| ConversationReader %s (conversations %d, rejects %d) | %.2f | %.1f | %.0f |%n", master,
                conversations, rejects, sparkSeconds, mb / sparkSeconds, conversations / sparkSeconds);
        System.out.printf("ratio ConversationReader / 1-thread Jackson: %.2fx%n", jacksonSeconds / sparkSeconds);
    }
}
