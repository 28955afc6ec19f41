package org.agentflan.dataprep.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;

import java.io.File;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import org.agentflan.dataprep.model.Conversation;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark step from conversations to training samples. Conversations are first put in a total order that
 * depends only on (seed, source, id, content), so the output is the same rows in the same order whatever the
 * partitioning; the sort runs on the text, before tokenization, so that Spark's range-partition sampling pass
 * does not tokenize everything twice. Each partition then tokenizes in place (order kept) with the JVM's one
 * shared tokenizer. Rejected samples stay in the output with {@code reject_reason} set and no tokens.
 */
public final class TokenizeStage {
    /** Columns of the stage's output; shards keep the first six. */
    public static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType)
            .add("source", DataTypes.StringType)
            .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false))
            .add("loss_mask", DataTypes.createArrayType(DataTypes.IntegerType, false))
            .add("num_tokens", DataTypes.IntegerType)
            .add("num_loss_tokens", DataTypes.IntegerType)
            .add("truncated", DataTypes.BooleanType)
            .add("reject_reason", DataTypes.StringType);

    /** What every executor needs to encode; small and serializable. */
    public record Settings(String tokenizerPath, int maxLength, OverLengthPolicy overLength, boolean eos)
            implements Serializable {}

    private TokenizeStage() {}

    /**
     * @param partitions number of partitions to sort into (and so of shard files); 0 keeps Spark's default
     */
    public static Dataset<Row> run(Dataset<Conversation> conversations, Settings settings, long seed, int partitions) {
        Dataset<Conversation> ordered = partitions > 0
                ? conversations.repartitionByRange(partitions, sortKey(seed)).sortWithinPartitions(sortKey(seed))
                : conversations.orderBy(sortKey(seed));
        return ordered.mapPartitions(new Encode(settings), Encoders.row(SCHEMA));
    }

    /** hash(seed, source, id) spreads sources evenly; id and a content hash break ties deterministically. */
    private static org.apache.spark.sql.Column[] sortKey(long seed) {
        return new org.apache.spark.sql.Column[] {
            xxhash64(lit(seed), col("source"), col("id")), col("source"), col("id"), xxhash64(col("turns"))};
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

    private static final class Encode implements MapPartitionsFunction<Conversation, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings settings;

        Encode(Settings settings) {
            this.settings = settings;
        }

        @Override
        public Iterator<Row> call(Iterator<Conversation> input) {
            SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(resolveTokenizer(settings.tokenizerPath())),
                    settings.maxLength(), settings.overLength(), settings.eos());
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return input.hasNext();
                }

                @Override
                public Row next() {
                    Conversation c = input.next();
                    SampleEncoder.Result r = encoder.encode(c.getTurns());
                    if (r.rejectReason() != null) {
                        return RowFactory.create(c.getId(), c.getSource(), new int[0], new int[0], 0, 0, false,
                                r.rejectReason());
                    }
                    SampleEncoder.Sample s = r.sample();
                    return RowFactory.create(c.getId(), c.getSource(), s.inputIds(), s.lossMask(), s.length(),
                            s.lossTokens(), r.truncated(), null);
                }
            };
        }
    }
}
