package org.agentflan.dataprep.prepare;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.agentflan.dataprep.tokenize.TokenizeStage;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Manifest;
import org.agentflan.format.ShardSchema;
import org.agentflan.format.SourceCounts;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.RuntimeConfig;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Option;

/**
 * Writes a prepared corpus: {@code shards/} (zstd Parquet, one row per sample, in the stage's deterministic
 * order), {@code conversations/} (the samples' conversations in the same order, for {@code agentflan eval}), {@code rejects/} (JSON lines: file, line, source, kind, reason, record) and, last, {@code manifest.json},
 * into the staging folder of a {@link StagedOutput}, so a run that dies half-way never replaces a corpus. Paths go through
 * Hadoop's FileSystem, so the output may live on HDFS or an object store as well as on local disk.
 */
public final class CorpusWriter {
    public static final String REJECTS = "rejects";
    private static final String LEGACY_PARQUET = "spark.sql.parquet.writeLegacyFormat";

    private CorpusWriter() {}

    /**
     * Per-source counts of the tokenize stage's output (candidates, emitted, truncated, tokens, loss tokens,
     * markers in text). This
     * aggregation is the first action on {@code tokenized}, which should be persisted: it computes it once, and the
     * shard write, the sort's sampling pass and the rejects read it.
     *
     * @param tokenized the tokenize stage's output ({@link TokenizeStage#TOKENIZED_SCHEMA})
     */
    public static Map<String, SourceCounts> countSamples(Dataset<Row> tokenized) {
        Map<String, SourceCounts> counts = new TreeMap<>();
        for (Row r : tokenized.groupBy("source").agg(count(lit(1)), count(when(col("reject_kind").isNull(), 1)),
                count(when(col("truncated"), 1)), coalesce(sum("num_tokens"), lit(0L)),
                coalesce(sum("num_loss_tokens"), lit(0L)), count(when(col("markers"), 1))).collectAsList()) {
            counts.put(r.getString(0), new SourceCounts(0, 0, r.getLong(1), r.getLong(2), 0, new TreeMap<>(),
                    r.getLong(3), r.getLong(4), r.getLong(5), r.getLong(6)));
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
                    .parquet(new Path(output, ShardSchema.SHARDS_DIR).toString());
        } finally {
            if (before.isDefined()) {
                conf.set(LEGACY_PARQUET, before.get());
            } else {
                conf.unset(LEGACY_PARQUET);
            }
        }
    }

    /**
     * The emitted samples' conversations ({@link ConversationRecord}, one JSON line each) as
     * {@code conversations/part-*.jsonl}, in the shards' order and file split (the same sort). Spark's text writer
     * names its files {@code .txt}; they are renamed to say what they hold.
     */
    public static void writeConversations(Dataset<Row> tokenized, int partitions, String output) {
        Path dir = new Path(output, ConversationRecord.DIR);
        TokenizeStage.ordered(tokenized, partitions, TokenizeStage.CONVERSATION).write().mode(SaveMode.Overwrite)
                .text(dir.toString());
        try {
            FileSystem fs = dir.getFileSystem(tokenized.sparkSession().sparkContext().hadoopConfiguration());
            for (FileStatus file : fs.listStatus(dir)) {
                String name = file.getPath().getName();
                if (name.startsWith(ShardSchema.SHARD_PREFIX) && name.endsWith(".txt")) {
                    Path renamed = new Path(dir, name.substring(0, name.length() - ".txt".length())
                            + ConversationRecord.FILE_SUFFIX);
                    if (!fs.rename(file.getPath(), renamed)) {
                        throw new IOException("rename " + file.getPath() + " -> " + renamed + " failed");
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir, e);
        }
    }

    /**
     * Writes the rejects of the readers and of the tokenize stage and returns their per-source counts by kind
     * (reader rejects also count as read). Each line: file, line, source, kind, reason, record (a reader reject's
     * text, or a stage reject's sample id); a stage reject carries the file and line its conversation was read
     * from (none for a negative, which is built by rule).
     *
     * @param readerRejects rejects from the readers (file, line, source, kind, reason, record); null when none
     * @param splitFirstLines the first line of each JSONL split in its file (ReadResult#firstLineOfEachSplit)
     */
    public static Map<String, SourceCounts> writeRejects(Dataset<Row> tokenized, Dataset<Row> readerRejects,
                                                         Map<String, Long> splitFirstLines, String output) {
        Map<String, SourceCounts> counts = new TreeMap<>();
        Path dir = new Path(output, REJECTS);
        Dataset<Row> fromStage = stageRejects(tokenized, splitFirstLines).withColumn("from_reader", lit(false));
        if (readerRejects == null && fromStage.isEmpty()) {
            emptyDirectory(tokenized.sparkSession(), dir); // a JSON write and a histogram would find nothing
            return counts;
        }
        Dataset<Row> rejects = readerRejects == null ? fromStage
                : readerRejects.select(col("file"), col("line"), col("source"), col("kind"), col("reason"),
                        col("record"), lit(true).as("from_reader")).unionByName(fromStage);
        rejects.drop("from_reader").coalesce(1).write().mode(SaveMode.Overwrite).json(dir.toString());

        // A reader reject is a record read that never became a conversation: it counts as read too; a
        // tokenize-stage reject was counted as a candidate by countSamples.
        for (Row r : rejects.groupBy(col("source"), col("kind"), col("from_reader")).count().collectAsList()) {
            SourceCounts rejected = rejected(r.getString(1), r.getLong(3));
            counts.merge(r.getString(0), r.getBoolean(2)
                    ? new SourceCounts(r.getLong(3), 0, 0, 0, rejected.rejected(), rejected.rejectedReasons(), 0, 0, 0,
                    0) : rejected, SourceCounts::plus);
        }
        return counts;
    }

    /**
     * The tokenize stage's rejects as reject lines. A conversation read from a JSONL split knows its line within
     * the split; the split's first line (known once the input has been parsed) makes it the line in the file.
     */
    private static Dataset<Row> stageRejects(Dataset<Row> tokenized, Map<String, Long> splitFirstLines) {
        Dataset<Row> stage = tokenized.filter(col("reject_kind").isNotNull());
        Column line = col("line");
        if (!splitFirstLines.isEmpty()) {
            List<Row> firsts = new ArrayList<>();
            splitFirstLines.forEach((split, first) -> firsts.add(RowFactory.create(split, first)));
            Dataset<Row> splits = tokenized.sparkSession().createDataFrame(firsts, new StructType()
                    .add("split_key", DataTypes.StringType).add("first_line", DataTypes.LongType));
            stage = stage.join(broadcast(splits), col("split").equalTo(col("split_key")), "left");
            line = when(col("first_line").isNotNull(), col("first_line").plus(col("line")).minus(1)).otherwise(line);
        }
        return stage.select(col("file"), line.as("line"), col("source"), col("reject_kind").as("kind"),
                col("reject").as("reason"), col("id").as("record"));
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
        return new SourceCounts(0, 0, 0, 0, n, new TreeMap<>(Map.of(kind, n)), 0, 0, 0, 0);
    }

    /** Writes the manifest, the mark of a complete run. */
    public static void writeManifest(SparkSession spark, String output, Manifest manifest) {
        Path path = new Path(output, Manifest.FILE_NAME);
        try {
            FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
            Path tmp = new Path(output, "." + Manifest.FILE_NAME + ".tmp");
            try (OutputStream out = fs.create(tmp, true)) {
                manifest.write(out);
            }
            if (!fs.rename(tmp, path)) {
                throw new IOException("rename " + tmp + " -> " + path + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }
}
