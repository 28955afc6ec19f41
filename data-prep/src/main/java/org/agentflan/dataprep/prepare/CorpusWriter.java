package org.agentflan.dataprep.prepare;

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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * Writes a prepared corpus: {@code shards/} (zstd Parquet, one row per sample, in the stage's deterministic
 * order), {@code rejects/} (JSON lines: file, line, source, reason, record) and, last, {@code manifest.json}.
 * Any earlier manifest is deleted first, so a run that dies half-way never looks complete. Paths go through
 * Hadoop's FileSystem, so the output may live on HDFS or an object store as well as on local disk.
 */
public final class CorpusWriter {
    public static final String SHARDS = "shards";
    public static final String REJECTS = "rejects";
    /** The columns of a shard row, the contract with the trainer. */
    public static final List<String> SHARD_COLUMNS =
            List.of("id", "source", "input_ids", "loss_mask", "num_tokens", "num_loss_tokens");
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
     * the readers know).
     *
     * @param samples the tokenize stage's output ({@link org.agentflan.dataprep.tokenize.TokenizeStage#SCHEMA})
     * @param readerRejects rejects from the readers: file, line, source, reason, record
     */
    public static Map<String, SourceCounts> write(Dataset<Row> samples, Dataset<Row> readerRejects, String output) {
        // Both outputs and the counts come from one tokenization: keep it rather than recompute it three times.
        Dataset<Row> kept = samples.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            kept.filter(col("reject_reason").isNull())
                    .select(SHARD_COLUMNS.stream().map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new))
                    .write().mode(SaveMode.Overwrite).option("compression", "zstd")
                    .parquet(new Path(output, SHARDS).toString());
            Dataset<Row> stageRejects = kept.filter(col("reject_reason").isNotNull())
                    .select(lit(null).cast("string").as("file"), lit(-1L).as("line"), col("source"),
                            col("reject_reason").as("reason"), col("id").as("record"));
            Dataset<Row> rejects = readerRejects.select("file", "line", "source", "reason", "record")
                    .unionByName(stageRejects);
            rejects.coalesce(1).write().mode(SaveMode.Overwrite).json(new Path(output, REJECTS).toString());

            Map<String, SourceCounts> counts = new TreeMap<>();
            for (Row r : kept.groupBy("source").agg(
                    count(lit(1)).as("candidates"),
                    sum(when(col("reject_reason").isNull(), 1).otherwise(0)).as("emitted"),
                    sum(when(col("truncated"), 1).otherwise(0)).as("truncated"),
                    sum(col("num_tokens").cast("long")).as("tokens"),
                    sum(col("num_loss_tokens").cast("long")).as("loss_tokens")).collectAsList()) {
                counts.put(r.getString(0), new SourceCounts(0, 0, r.getLong(1), r.getLong(2), 0, new TreeMap<>(),
                        r.getLong(3), r.getLong(4), r.getLong(5)));
            }
            // Reasons carry details after ':' ("over_length: 5000 tokens > ..."); the histogram keys on the kind.
            Dataset<Row> reasons = samples.sparkSession().read().schema("source string, reason string")
                    .json(new Path(output, REJECTS).toString());
            for (Row r : reasons.groupBy(col("source"), regexp_extract(col("reason"), "^([^:]*)", 1).as("kind"))
                        .count().collectAsList()) {
                SourceCounts rejected = new SourceCounts(0, 0, 0, 0, r.getLong(2),
                        new TreeMap<>(Map.of(r.getString(1), r.getLong(2))), 0, 0, 0);
                counts.merge(r.getString(0), rejected, SourceCounts::plus);
            }
            return counts;
        } finally {
            kept.unpersist();
        }
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
