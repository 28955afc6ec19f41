package org.agentflan.trainer.data;

/**
 * Where the data stream stands: the epoch, the index of the next sample in that epoch's order, and the next piece
 * of that sample (non-zero only when a split sample is part-way consumed). Saved in every checkpoint so a resumed
 * run continues at exactly the next sample.
 */
public record DataCursor(long epoch, int position, int piece) {
    public static final DataCursor START = new DataCursor(0, 0, 0);
}
