package org.agentflan.format;

import java.util.List;

/**
 * The shards of a prepared corpus: {@code <dir>/shards/part-*.parquet}, one row per sample with these columns in
 * this order. data-prep builds its Spark schema from them and the trainer reads the columns by these names;
 * changing them is a new {@link Manifest#FORMAT_VERSION}.
 */
public final class ShardSchema {
    /** What a column holds; an int array is a Parquet LIST of int32. */
    public enum Type { STRING, INT, INT_ARRAY }

    public record Column(String name, Type type) {}

    /** Stable sample id, from the source or derived from the content. */
    public static final Column ID = new Column("id", Type.STRING);
    /** The configured source the sample came from. */
    public static final Column SOURCE = new Column("source", Type.STRING);
    /** Token ids, BOS first. */
    public static final Column INPUT_IDS = new Column("input_ids", Type.INT_ARRAY);
    /** 1 where the token at that position is a training target, else 0; as long as {@link #INPUT_IDS}. */
    public static final Column LOSS_MASK = new Column("loss_mask", Type.INT_ARRAY);
    public static final Column NUM_TOKENS = new Column("num_tokens", Type.INT);
    public static final Column NUM_LOSS_TOKENS = new Column("num_loss_tokens", Type.INT);
    public static final List<Column> COLUMNS = List.of(ID, SOURCE, INPUT_IDS, LOSS_MASK, NUM_TOKENS, NUM_LOSS_TOKENS);

    /** The folder of shard files inside a corpus folder. */
    public static final String SHARDS_DIR = "shards";
    /** A shard file's name starts and ends so (Spark adds a task number and a codec in between). */
    public static final String SHARD_PREFIX = "part-";
    public static final String SHARD_SUFFIX = ".parquet";

    private ShardSchema() {}

    /** Whether {@code fileName} names a shard (Spark's _SUCCESS and checksum files do not). */
    public static boolean isShard(String fileName) {
        return fileName.startsWith(SHARD_PREFIX) && fileName.endsWith(SHARD_SUFFIX);
    }
}
