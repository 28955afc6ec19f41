package org.agentflan.trainer.data;

import org.agentflan.format.ShardSchema;

/**
 * One training sample as the data stage wrote it: token ids and, per token, whether predicting that token carries
 * loss (1) or not (0), and the capability label of the token ({@link ShardSchema#CAPABILITY_IDS}: 0, or 1 + the
 * index in {@link ShardSchema#CAPABILITIES}). {@code source} is the configured source the sample came from.
 * {@code capabilityIds} is null for shards of format version 1, which have no labels; {@code source} is null when
 * the shard has no source column.
 */
public record Sample(String id, String source, int[] inputIds, int[] lossMask, int[] capabilityIds) {
    public Sample {
        if (inputIds.length != lossMask.length) {
            throw new IllegalArgumentException("sample " + id + ": input_ids has " + inputIds.length
                    + " tokens but loss_mask has " + lossMask.length);
        }
        if (capabilityIds != null && capabilityIds.length != inputIds.length) {
            throw new IllegalArgumentException("sample " + id + ": input_ids has " + inputIds.length
                    + " tokens but capability_ids has " + capabilityIds.length);
        }
    }

    /** A sample without source or capability labels (as in a format version 1 shard). */
    public Sample(String id, int[] inputIds, int[] lossMask) {
        this(id, null, inputIds, lossMask, null);
    }

    public int length() {
        return inputIds.length;
    }

    public boolean hasCapabilityLabels() {
        return capabilityIds != null;
    }
}
