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
 * shared tokenizer. Emitted samples are the output rows; every outcome (emitted or rejected, with its reason)
 * is recorded in a {@link StageCounter}, filled when an action (the shard write) runs the returned Dataset.
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

    /** What every executor needs to encode; small and serializable. */
    public record Settings(String tokenizerPath, int maxLength, OverLengthPolicy overLength, boolean eos)
            implements Serializable {}

    private TokenizeStage() {}

    /**
     * @param partitions number of partitions to sort into (and so of shard files); 0 means one per core
     * @param counter registered accumulator that receives every sample's outcome
     */
    public static Dataset<Row> run(Dataset<Conversation> conversations, Settings settings, long seed, int partitions,
                                   StageCounter counter) {
        int n = partitions > 0 ? partitions : conversations.sparkSession().sparkContext().defaultParallelism();
        Dataset<Conversation> ordered =
                conversations.repartitionByRange(n, sortKey(seed)).sortWithinPartitions(sortKey(seed));
        return ordered.mapPartitions(new Encode(settings, counter), Encoders.row(SCHEMA));
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
        private final StageCounter counter;

        Encode(Settings settings, StageCounter counter) {
            this.settings = settings;
            this.counter = counter;
        }

        @Override
        public Iterator<Row> call(Iterator<Conversation> input) {
            SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(resolveTokenizer(settings.tokenizerPath())),
                    settings.maxLength(), settings.overLength(), settings.eos());
            return new Iterator<>() {
                private Row next = advance();

                @Override
                public boolean hasNext() {
                    return next != null;
                }

                @Override
                public Row next() {
                    if (next == null) {
                        throw new java.util.NoSuchElementException();
                    }
                    Row current = next;
                    next = advance();
                    return current;
                }

                /** The next emitted row; rejected samples are only counted. */
                private Row advance() {
                    while (input.hasNext()) {
                        Conversation c = input.next();
                        SampleEncoder.Result r = encoder.encode(c.getTurns());
                        if (r.rejectReason() != null) {
                            counter.add(new StageCounter.Event(c.getSource(), c.getId(), r.rejectReason(), false, 0, 0));
                            continue;
                        }
                        SampleEncoder.Sample s = r.sample();
                        counter.add(new StageCounter.Event(c.getSource(), c.getId(), null, r.truncated(), s.length(),
                                s.lossTokens()));
                        return RowFactory.create(c.getId(), c.getSource(), s.inputIds(), s.lossMask(), s.length(),
                                s.lossTokens());
                    }
                    return null;
                }
            };
        }
    }
}
