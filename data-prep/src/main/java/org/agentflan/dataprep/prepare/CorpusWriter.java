package org.agentflan.dataprep.prepare;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_extract;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.agentflan.dataprep.tokenize.TokenizeStage;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;

/**
 * Writes a prepared corpus: {@code shards/} (zstd Parquet, one row per sample, in the stage's deterministic
 * order), {@code rejects/} (JSON lines: file, line, source, reason, record) and, last, {@code manifest.json}.
 * Any earlier manifest is deleted first, so a run that dies half-way never looks complete. Paths go through
 * Hadoop's FileSystem, so the output may live on HDFS or an object store as well as on local disk.
 */
public final class CorpusWriter {
    public static final String SHARDS = "shards";
    public static final String REJECTS = "rejects";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private CorpusWriter() {}

    /** Deletes the manifest of a previous run in {@code output}; call before any work. */
    public static void invalidate(SparkSession spark, String output) {
        try {
            Path manifest = new Path(output, Manifest.FILE_NAME);
            FileSystem fs = manifest.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.delete(manifest, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot clear the previous manifest in " + output, e);
        }
    }

    /**
     * Writes shards and rejects and returns per-source counts (without {@code read}/{@code parsed}, which only
     * the readers know). The counts come from an aggregation over {@code tokenized}, which should be persisted:
     * that first action computes it once, and the shard write, the sort's sampling pass and the rejects read it.
     *
     * @param tokenized the tokenize stage's output ({@link TokenizeStage#TOKENIZED_SCHEMA})
     * @param partitions shard files to sort into; 0 means one per core
     * @param readerRejects rejects from the readers: file, line, source, reason, record
     */
    public static Map<String, SourceCounts> write(Dataset<Row> tokenized, int partitions, Dataset<Row> readerRejects,
                                                  String output) {
        Map<String, SourceCounts> counts = new TreeMap<>();
        for (Row r : tokenized.groupBy("source").agg(count(lit(1)), count(when(col("reject").isNull(), 1)),
                count(when(col("truncated"), 1)), coalesce(sum("num_tokens"), lit(0L)),
                coalesce(sum("num_loss_tokens"), lit(0L))).collectAsList()) {
            counts.put(r.getString(0), new SourceCounts(0, 0, r.getLong(1), r.getLong(2), 0, new TreeMap<>(),
                    r.getLong(3), r.getLong(4), r.getLong(5)));
        }

        TokenizeStage.ordered(tokenized, partitions).write().mode(SaveMode.Overwrite).option("compression", "zstd")
                .parquet(new Path(output, SHARDS).toString());

        Dataset<Row> stageRejects = tokenized.filter(col("reject").isNotNull()).select(lit(null).cast("string")
                .as("file"), lit(-1L).as("line"), col("source"), col("reject").as("reason"), col("id").as("record"));
        Dataset<Row> rejects = readerRejects.select("file", "line", "source", "reason", "record")
                .unionByName(stageRejects);
        rejects.coalesce(1).write().mode(SaveMode.Overwrite).json(new Path(output, REJECTS).toString());

        // Reasons may carry details after ':' ("over_length: 5000 tokens > ..."); the histogram keys on the kind.
        // A reader reject (it names its file) is a record read that never became a conversation: it counts as read
        // too; a tokenize-stage reject (no file) was counted as a candidate above.
        for (Row r : rejects.groupBy(col("source"), regexp_extract(col("reason"), "^([^:]*)", 1).as("kind"),
                col("file").isNotNull().as("from_reader")).count().collectAsList()) {
            SourceCounts rejected = rejected(r.getString(1), r.getLong(3));
            counts.merge(r.getString(0), r.getBoolean(2)
                    ? new SourceCounts(r.getLong(3), 0, 0, 0, rejected.rejected(), rejected.rejectedReasons(), 0, 0, 0)
                    : rejected, SourceCounts::plus);
        }
        return counts;
    }

    private static SourceCounts rejected(String kind, long n) {
        return new SourceCounts(0, 0, 0, 0, n, new TreeMap<>(Map.of(kind, n)), 0, 0, 0);
    }

    /** Writes the manifest, the mark of a complete run. */
    public static void writeManifest(SparkSession spark, String output, Manifest manifest) {
        Path path = new Path(output, Manifest.FILE_NAME);
        try {
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path tmp = new Path(output, "." + Manifest.FILE_NAME + ".tmp");
            try (OutputStream out = fs.create(tmp, true)) {
                JSON.writeValue(out, manifest);
            }
            if (!fs.rename(tmp, path)) {
                throw new IOException("rename " + tmp + " -> " + path + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }
}
