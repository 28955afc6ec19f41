package org.agentflan.dataprep.tokenize;

import static org.apache.spark.sql.functions.col;

import java.io.File;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.ShardSchema;
import org.apache.spark.SparkFiles;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.expressions.XXH64;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark step from conversations to training samples, in two parts. {@link #tokenize} encodes every
 * conversation where it already is (the input partitions, no shuffle of text) with the executor's shared
 * tokenizer, and keeps with each sample its sort key and its outcome (emitted, truncated, or rejected with a
 * reason); the caller persists that, counts from it and writes its rejects. {@link #ordered} then puts the emitted
 * samples in a total order that depends only on (seed, source, id, content), so the output is the same rows in the
 * same order whatever the partitioning; the range sort shuffles compact token arrays, and its sampling pass reads
 * the persisted samples instead of recomputing the input.
 */
public final class TokenizeStage {
    /** The column of {@link #TOKENIZED_SCHEMA} holding an emitted sample's conversation record. */
    public static final String CONVERSATION = "conversation";

    /** Columns of a shard row: {@link ShardSchema}, the contract with the trainer, as Spark types. */
    public static final StructType SCHEMA = sparkSchema();

    /**
     * A tokenized conversation: the shard columns (arrays null when rejected), the sort key's two hashes, and the
     * outcome: {@code truncated}, {@code markers} (a turn's text holds a template marker), and for a reject (both
     * null when emitted) its {@code reject_kind} (a RejectKind key) and {@code reject} reason with where the
     * conversation was read ({@code file}, {@code line}, {@code split}: see Conversation); {@code conversation}
     * is an emitted sample's {@link ConversationRecord} as a JSON line (null when rejected).
     */
    public static final StructType TOKENIZED_SCHEMA = new StructType(SCHEMA.fields())
            .add("sort_hash", DataTypes.LongType, false)
            .add("content_hash", DataTypes.LongType, false)
            .add("truncated", DataTypes.BooleanType, false)
            .add("markers", DataTypes.BooleanType, false)
            .add("reject_kind", DataTypes.StringType)
            .add("reject", DataTypes.StringType)
            .add("file", DataTypes.StringType)
            .add("line", DataTypes.LongType)
            .add("split", DataTypes.StringType)
            .add(CONVERSATION, DataTypes.StringType);

    /**
     * What every executor needs to encode; small and serializable.
     *
     * @param negativeSources the sources whose conversations are marked negative in their records
     */
    public record Settings(String tokenizerPath, int maxLength, OverLengthPolicy overLength, boolean eos,
                           MarkersInText markersInText, List<String> negativeSources) implements Serializable {
        public Settings {
            negativeSources = List.copyOf(negativeSources);
        }
    }

    /** Spark's seed for xxhash64. */
    private static final long XXHASH_SEED = 42L;

    private TokenizeStage() {}

    private static StructType sparkSchema() {
        StructType schema = new StructType();
        for (ShardSchema.Column column : ShardSchema.COLUMNS) {
            schema = schema.add(column.name(), switch (column.type()) {
                case STRING -> DataTypes.StringType;
                case INT -> DataTypes.IntegerType;
                case INT_ARRAY -> DataTypes.createArrayType(DataTypes.IntegerType, false);
            });
        }
        return schema;
    }

    /** Every conversation encoded in place, emitted or not ({@link #TOKENIZED_SCHEMA}); lazy. */
    public static Dataset<Row> tokenize(Dataset<Conversation> conversations, Settings settings, long seed) {
        // A typed step straight after the typed transforms: Spark hands it the transforms' objects, so the
        // turns are never encoded back into rows and decoded again on the way.
        return conversations.mapPartitions(new Encode(settings, seed), Encoders.row(TOKENIZED_SCHEMA));
    }

    /**
     * The sort key's first part: Spark's {@code xxhash64(seed, source, id)}, computed here with the same
     * function so that the order is what a sort of the conversations on that expression would give.
     */
    static long sortHash(long seed, String source, String id) {
        long h = XXH64.hashLong(seed, XXHASH_SEED);
        h = hashString(source, h);
        return hashString(id, h);
    }

    /**
     * The tie-breaker of the sort key: a hash of every turn's role, content, loss and capability (64-bit FNV-1a
     * over their characters, each field ended by a code no character has, so field boundaries count).
     */
    static long contentHash(List<Turn> turns) {
        long h = 0xcbf29ce484222325L;
        for (Turn t : turns) {
            h = fnv(fnv(fnv(fnv(h, t.getRole()), t.getContent()), t.isLoss() ? "1" : "0"), t.getCapability());
        }
        return h ^ (h >>> 29);
    }

    private static long fnv(long h, String s) {
        if (s != null) {
            for (int i = 0; i < s.length(); i++) {
                h = (h ^ s.charAt(i)) * 0x100000001b3L;
            }
        }
        return (h ^ 0x10000) * 0x100000001b3L; // 0x10000: above every char, ends the field (null ends it too)
    }

    /** As Spark hashes a string column: its UTF-8 bytes; a null leaves the hash as it is. */
    private static long hashString(String s, long seed) {
        if (s == null) {
            return seed;
        }
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        return XXH64.hashUnsafeBytes(utf8, Platform.BYTE_ARRAY_OFFSET, utf8.length, seed);
    }

    /**
     * The emitted samples of {@link #tokenize}'s output in their total order, as shard rows ({@link #SCHEMA}).
     *
     * @param partitions number of partitions to sort into (and so of shard files); 0 means one per core
     */
    public static Dataset<Row> ordered(Dataset<Row> tokenized, int partitions) {
        return ordered(tokenized, partitions, SCHEMA.fieldNames());
    }

    /** The emitted samples in the same total order as {@link #ordered(Dataset, int)}, as the given columns. */
    public static Dataset<Row> ordered(Dataset<Row> tokenized, int partitions, String... columns) {
        int n = partitions > 0 ? partitions : tokenized.sparkSession().sparkContext().defaultParallelism();
        org.apache.spark.sql.Column[] key = {col("sort_hash"), col("source"), col("id"), col("content_hash")};
        return tokenized.filter(col("reject_kind").isNull()).repartitionByRange(n, key).sortWithinPartitions(key)
                .select(Arrays.stream(columns).map(functions::col).toArray(org.apache.spark.sql.Column[]::new));
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

    /** Encodes conversations into {@link #TOKENIZED_SCHEMA} rows. */
    private static final class Encode implements MapPartitionsFunction<Conversation, Row> {
        private static final long serialVersionUID = 1L;
        private final Settings settings;
        private final long seed;

        Encode(Settings settings, long seed) {
            this.settings = settings;
            this.seed = seed;
        }

        @Override
        public Iterator<Row> call(Iterator<Conversation> input) {
            // One tokenizer per executor JVM: its segment memo is shared by the task threads, and loading it per
            // task would cost more than a small task's work.
            SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(resolveTokenizer(settings.tokenizerPath())),
                    settings.maxLength(), settings.overLength(), settings.eos(), settings.markersInText());
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return input.hasNext();
                }

                @Override
                public Row next() {
                    Conversation c = input.next();
                    long sortHash = sortHash(seed, c.getSource(), c.getId());
                    long contentHash = contentHash(c.getTurns());
                    SampleEncoder.Result r = encoder.encode(c.getTurns());
                    SampleEncoder.Sample s = r.sample();
                    return r.rejectKind() != null
                            ? RowFactory.create(c.getId(), c.getSource(), null, null, null, null, null, sortHash,
                                    contentHash, false, r.markersInText(), r.rejectKind().key(), r.rejectReason(),
                                    c.getFile(), c.getLine(), c.getSplit(), null)
                            : RowFactory.create(c.getId(), c.getSource(), s.inputIds(), s.lossMask(), s.length(),
                                    s.lossTokens(), s.capabilityIds(), sortHash, contentHash, r.truncated(),
                                    r.markersInText(), null, null, null, null, null,
                                    ConversationRecords.of(c, settings.negativeSources()).toJson());
                }
            };
        }
    }
}
