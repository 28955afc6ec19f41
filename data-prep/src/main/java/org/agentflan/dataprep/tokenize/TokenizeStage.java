package org.agentflan.dataprep.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;

import java.io.File;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark step from conversations to training samples, in two parts. {@link #tokenize} encodes every
 * conversation where it already is (the input partitions, no shuffle of text) with its task thread's own
 * tokenizer, and keeps with each sample its sort key and its outcome (emitted, truncated, or rejected with a
 * reason); the caller persists that, counts from it and writes its rejects. {@link #ordered} then puts the emitted
 * samples in a total order that depends only on (seed, source, id, content), so the output is the same rows in the
 * same order whatever the partitioning; the range sort shuffles compact token arrays, and its sampling pass reads
 * the persisted samples instead of recomputing the input.
 */
public final class TokenizeStage {
    /** Columns of a shard row: the contract with the trainer. */
    public static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType)
            .add("source", DataTypes.StringType)
            .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false))
            .add("loss_mask", DataTypes.createArrayType(DataTypes.IntegerType, false))
            .add("num_tokens", DataTypes.IntegerType)
            .add("num_loss_tokens", DataTypes.IntegerType);

    /**
     * A tokenized conversation: the shard columns (arrays null when rejected), the sort key's two hashes, and the
     * outcome: {@code truncated}, and {@code reject} (null when emitted).
     */
    public static final StructType TOKENIZED_SCHEMA = new StructType(SCHEMA.fields())
            .add("sort_hash", DataTypes.LongType, false)
            .add("content_hash", DataTypes.LongType, false)
            .add("truncated", DataTypes.BooleanType, false)
            .add("reject", DataTypes.StringType);

    /** What every executor needs to encode; small and serializable. */
    public record Settings(String tokenizerPath, int maxLength, OverLengthPolicy overLength, boolean eos)
            implements Serializable {}

    private TokenizeStage() {}

    /** Every conversation encoded in place, emitted or not ({@link #TOKENIZED_SCHEMA}); lazy. */
    public static Dataset<Row> tokenize(Dataset<Conversation> conversations, Settings settings, long seed) {
        // The hashes are taken here, from the conversation, so that the sort after tokenization orders exactly
        // as a sort of the conversations would: hash(seed, source, id), then source, id, a hash of the turns.
        Dataset<Row> keyed = conversations.select(col("id"), col("source"), col("turns"),
                xxhash64(lit(seed), col("source"), col("id")).as("sort_hash"), xxhash64(col("turns")).as("content_hash"));
        return keyed.mapPartitions(new Encode(settings, keyed.schema()), Encoders.row(TOKENIZED_SCHEMA));
    }

    /**
     * The emitted samples of {@link #tokenize}'s output in their total order, as shard rows ({@link #SCHEMA}).
     *
     * @param partitions number of partitions to sort into (and so of shard files); 0 means one per core
     */
    public static Dataset<Row> ordered(Dataset<Row> tokenized, int partitions) {
        int n = partitions > 0 ? partitions : tokenized.sparkSession().sparkContext().defaultParallelism();
        org.apache.spark.sql.Column[] key = {col("sort_hash"), col("source"), col("id"), col("content_hash")};
        return tokenized.filter(col("reject").isNull()).repartitionByRange(n, key).sortWithinPartitions(key)
                .select(Arrays.stream(SCHEMA.fieldNames()).map(functions::col).toArray(org.apache.spark.sql.Column[]::new));
    }

    /**
     * The tokenizer as seen from this JVM: the configured path when it exists here (local mode, shared disks),
     * else the copy spark-submit shipped with {@code --files} (cluster mode).
     */
    public static Path resolveTokenizer(String configured) {
        Path local = Path.of(configured);
        if (Files.exists(local)) {
            return local;
        }
        String shipped = SparkFiles.get(Llama2Tokenizer.FILE_NAME);
        if (new File(shipped).isFile()) {
            return Path.of(shipped);
        }
        throw new IllegalStateException("tokenizer " + configured + " not found on this node, and no "
                + Llama2Tokenizer.FILE_NAME + " was shipped with --files");
    }

    /** Encodes rows of (id, source, turns, sort_hash, content_hash), reading the turns straight from the rows. */
    private static final class Encode implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings settings;
        private final int role;
        private final int content;
        private final int loss;
        private final int capability;

        Encode(Settings settings, StructType input) {
            this.settings = settings;
            StructType turn = (StructType) ((ArrayType) input.apply("turns").dataType()).elementType();
            this.role = turn.fieldIndex("role");
            this.content = turn.fieldIndex("content");
            this.loss = turn.fieldIndex("loss");
            this.capability = turn.fieldIndex("capability");
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.forThread(resolveTokenizer(settings.tokenizerPath())),
                    settings.maxLength(), settings.overLength(), settings.eos());
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return input.hasNext();
                }

                @Override
                public Row next() {
                    Row c = input.next();
                    List<Row> rows = c.getList(2);
                    List<Turn> turns = new ArrayList<>(rows.size());
                    for (Row t : rows) {
                        turns.add(new Turn(t.getString(role), t.getString(content), t.getBoolean(loss),
                                t.getString(capability)));
                    }
                    SampleEncoder.Result r = encoder.encode(turns);
                    SampleEncoder.Sample s = r.sample();
                    return r.rejectReason() != null
                            ? RowFactory.create(c.getString(0), c.getString(1), null, null, null, null, c.getLong(3),
                                    c.getLong(4), false, r.rejectReason())
                            : RowFactory.create(c.getString(0), c.getString(1), s.inputIds(), s.lossMask(),
                                    s.length(), s.lossTokens(), c.getLong(3), c.getLong(4), r.truncated(), null);
                }
            };
        }
    }
}
