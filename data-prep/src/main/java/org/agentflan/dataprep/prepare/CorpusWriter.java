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
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import scala.Option;

/**
 * Writes a prepared corpus: {@code shards/} (zstd Parquet, one row per sample, in the stage's deterministic
 * order), {@code rejects/} (JSON lines: file, line, source, reason, record) and, last, {@code manifest.json},
 * into the staging folder of a {@link StagedOutput}, so a run that dies half-way never replaces a corpus. Paths go through
 * Hadoop's FileSystem, so the output may live on HDFS or an object store as well as on local disk.
 */
public final class CorpusWriter {
    public static final String SHARDS = "shards";
    public static final String REJECTS = "rejects";
    private static final String LEGACY_PARQUET = "spark.sql.parquet.writeLegacyFormat";
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private CorpusWriter() {}

    /**
     * Per-source counts of the tokenize stage's output (candidates, emitted, truncated, tokens, loss tokens). This
     * aggregation is the first action on {@code tokenized}, which should be persisted: it computes it once, and the
     * shard write, the sort's sampling pass and the rejects read it.
     *
     * @param tokenized the tokenize stage's output ({@link TokenizeStage#TOKENIZED_SCHEMA})
     */
    public static Map<String, SourceCounts> countSamples(Dataset<Row> tokenized) {
        Map<String, SourceCounts> counts = new TreeMap<>();
        for (Row r : tokenized.groupBy("source").agg(count(lit(1)), count(when(col("reject").isNull(), 1)),
                count(when(col("truncated"), 1)), coalesce(sum("num_tokens"), lit(0L)),
                coalesce(sum("num_loss_tokens"), lit(0L))).collectAsList()) {
            counts.put(r.getString(0), new SourceCounts(0, 0, r.getLong(1), r.getLong(2), 0, new TreeMap<>(),
                    r.getLong(3), r.getLong(4), r.getLong(5)));
        }
        return counts;
    }

    /**
     * The emitted samples in their total order as zstd Parquet shards, the int arrays in the two-level list layout
     * ({@code repeated int32 array} inside the LIST group), which the Parquet format's compatibility rules define
     * and Spark and the trainer read (both tested). Spark's default three-level layout opens a group for every element,
     * the largest single cost of writing token arrays. The setting is session-wide in Spark, so it is set for this
     * write and put back.
     *
     * @param partitions shard files to sort into; 0 means one per core
     */
    public static void writeShards(Dataset<Row> tokenized, int partitions, String output) {
        Dataset<Row> ordered = TokenizeStage.ordered(tokenized, partitions);
        RuntimeConfig conf = ordered.sparkSession().conf();
        Option<String> before = conf.getOption(LEGACY_PARQUET);
        conf.set(LEGACY_PARQUET, "true");
        try {
            ordered.write().mode(SaveMode.Overwrite).option("compression", "zstd")
                    .parquet(new Path(output, SHARDS).toString());
        } finally {
            if (before.isDefined()) {
                conf.set(LEGACY_PARQUET, before.get());
            } else {
                conf.unset(LEGACY_PARQUET);
            }
        }
    }

    /**
     * Writes the rejects of the readers and of the tokenize stage and returns their per-source counts by reason
     * (reader rejects also count as read).
     *
     * @param readerRejects rejects from the readers (file, line, source, reason, record); null when they had none
     */
    public static Map<String, SourceCounts> writeRejects(Dataset<Row> tokenized, Dataset<Row> readerRejects,
                                                         String output) {
        Map<String, SourceCounts> counts = new TreeMap<>();
        Path dir = new Path(output, REJECTS);
        Dataset<Row> fromStage = tokenized.filter(col("reject").isNotNull()).select(lit(null).cast("string")
                .as("file"), lit(-1L).as("line"), col("source"), col("reject").as("reason"), col("id").as("record"));
        if (readerRejects == null && fromStage.isEmpty()) {
            emptyDirectory(tokenized.sparkSession(), dir); // a JSON write and a histogram would find nothing
            return counts;
        }
        Dataset<Row> rejects = readerRejects == null ? fromStage
                : readerRejects.select("file", "line", "source", "reason", "record").unionByName(fromStage);
        rejects.coalesce(1).write().mode(SaveMode.Overwrite).json(dir.toString());

        // Reasons may carry details after ':' ("over_length: 5000 tokens > ..."); the histogram keys on the kind.
        // A reader reject (it names its file) is a record read that never became a conversation: it counts as read
        // too; a tokenize-stage reject (no file) was counted as a candidate by countSamples.
        for (Row r : rejects.groupBy(col("source"), regexp_extract(col("reason"), "^([^:]*)", 1).as("kind"),
                col("file").isNotNull().as("from_reader")).count().collectAsList()) {
            SourceCounts rejected = rejected(r.getString(1), r.getLong(3));
            counts.merge(r.getString(0), r.getBoolean(2)
                    ? new SourceCounts(r.getLong(3), 0, 0, 0, rejected.rejected(), rejected.rejectedReasons(), 0, 0, 0)
                    : rejected, SourceCounts::plus);
        }
        return counts;
    }

    /** An empty directory with Spark's success marker, as a write of no rows leaves it. */
    private static void emptyDirectory(SparkSession spark, Path dir) {
        try {
            FileSystem fs = dir.getFileSystem(spark.sparkContext().hadoopConfiguration());
            fs.delete(dir, true);
            fs.mkdirs(dir);
            fs.create(new Path(dir, "_SUCCESS"), true).close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir, e);
        }
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
