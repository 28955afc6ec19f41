package org.agentflan.dataprep.prepare;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.regexp_extract;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.agentflan.dataprep.tokenize.StageCounter;
import org.agentflan.dataprep.tokenize.TokenizeStage;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes a prepared corpus: {@code shards/} (zstd Parquet, one row per sample, in the stage's deterministic
 * order), {@code rejects/} (JSON lines: file, line, source, reason, record) and, last, {@code manifest.json}.
 * Any earlier manifest is deleted first, so a run that dies half-way never looks complete. Paths go through
 * Hadoop's FileSystem, so the output may live on HDFS or an object store as well as on local disk.
 */
public final class CorpusWriter {
    public static final String SHARDS = "shards";
    public static final String REJECTS = "rejects";
    private static final StructType REJECT_SCHEMA = new StructType()
            .add("file", DataTypes.StringType).add("line", DataTypes.LongType).add("source", DataTypes.StringType)
            .add("reason", DataTypes.StringType).add("record", DataTypes.StringType);
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
     * the readers know). Tokenization runs once, inside the shard write; its counts and rejects come back
     * through {@code counter}.
     *
     * @param samples the tokenize stage's output ({@link TokenizeStage#SCHEMA}), not yet computed
     * @param counter the accumulator {@code samples} reports to; registered with the session's context
     * @param readerRejects rejects from the readers: file, line, source, reason, record
     */
    public static Map<String, SourceCounts> write(Dataset<Row> samples, StageCounter counter,
                                                  Dataset<Row> readerRejects, String output) {
        SparkSession spark = samples.sparkSession();
        samples.write().mode(SaveMode.Overwrite).option("compression", "zstd")
                .parquet(new Path(output, SHARDS).toString());

        List<Row> stageRejectRows = new ArrayList<>();
        for (StageCounter.Event e : counter.rejects()) {
            stageRejectRows.add(RowFactory.create(null, -1L, e.source(), e.rejectReason(), e.id()));
        }
        Dataset<Row> stageRejects = spark.createDataFrame(stageRejectRows, REJECT_SCHEMA);
        readerRejects.select("file", "line", "source", "reason", "record").unionByName(stageRejects)
                .coalesce(1).write().mode(SaveMode.Overwrite).json(new Path(output, REJECTS).toString());

        Map<String, SourceCounts> counts = new TreeMap<>();
        counter.totals().forEach((source, t) -> counts.put(source, new SourceCounts(0, 0, t.candidates, t.emitted, 0,
                new TreeMap<>(), t.truncated, t.tokens, t.lossTokens)));
        // Reasons may carry details after ':' ("over_length: 5000 tokens > ..."); the histogram keys on the kind.
        for (Row r : readerRejects.groupBy(col("source"), regexp_extract(col("reason"), "^([^:]*)", 1).as("kind"))
                .count().collectAsList()) {
            counts.merge(r.getString(0), rejected(r.getString(1), r.getLong(2)), SourceCounts::plus);
        }
        for (StageCounter.Event e : counter.rejects()) {
            counts.merge(e.source(), rejected(e.rejectReason().split(":", 2)[0], 1), SourceCounts::plus);
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
