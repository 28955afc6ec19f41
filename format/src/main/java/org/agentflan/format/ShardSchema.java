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
    /**
     * Since format version 2: per token, the capability of the assistant turn whose content (or end marker) holds it,
     * as 1 + its index in {@link #CAPABILITIES}; 0 for every other token (BOS, markers, system and user turns, an
     * untagged turn). Set whether or not the turn carries loss, so that eval can measure a capability on the turns
     * the balancer masked too. As long as {@link #INPUT_IDS}.
     */
    public static final Column CAPABILITY_IDS = new Column("capability_ids", Type.INT_ARRAY);
    public static final List<Column> COLUMNS =
            List.of(ID, SOURCE, INPUT_IDS, LOSS_MASK, NUM_TOKENS, NUM_LOSS_TOKENS, CAPABILITY_IDS);

    /**
     * The capabilities in {@link #CAPABILITY_IDS} order (id = index + 1), as data-prep's tagger names them. The order
     * is part of the format: appending one is a new {@link Manifest#FORMAT_VERSION}, reordering never.
     */
    public static final List<String> CAPABILITIES =
            List.of("reasoning", "retrieval", "understanding", "instruction_following", "chat");
    /** The label of a token outside any tagged assistant turn. */
    public static final int NO_CAPABILITY = 0;

    /** The folder of shard files inside a corpus folder. */
    public static final String SHARDS_DIR = "shards";
    /** A shard file's name starts and ends so (Spark adds a task number and a codec in between). */
    public static final String SHARD_PREFIX = "part-";
    public static final String SHARD_SUFFIX = ".parquet";

    private ShardSchema() {}

    /** The {@link #CAPABILITY_IDS} value of a capability name, or {@link #NO_CAPABILITY} for null. */
    public static int capabilityId(String capability) {
        if (capability == null) {
            return NO_CAPABILITY;
        }
        int index = CAPABILITIES.indexOf(capability);
        if (index < 0) {
            throw new IllegalArgumentException("unknown capability '" + capability + "'; known: " + CAPABILITIES);
        }
        return index + 1;
    }

    /** Whether {@code fileName} names a shard (Spark's _SUCCESS and checksum files do not). */
    public static boolean isShard(String fileName) {
        return fileName.startsWith(SHARD_PREFIX) && fileName.endsWith(SHARD_SUFFIX);
    }
}
