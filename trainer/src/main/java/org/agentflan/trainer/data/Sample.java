package org.agentflan.trainer.data;

/**
 * One training sample as the data stage wrote it: its id and source (null in a shard without the column), token
 * ids and, per token, whether predicting that token carries loss (1) or not (0).
 */
public record Sample(String id, String source, int[] inputIds, int[] lossMask) {
    public Sample {
        if (inputIds.length != lossMask.length) {
            throw new IllegalArgumentException("sample " + id + ": input_ids has " + inputIds.length
                    + " tokens but loss_mask has " + lossMask.length);
        }
    }

    public int length() {
        return inputIds.length;
    }
}
