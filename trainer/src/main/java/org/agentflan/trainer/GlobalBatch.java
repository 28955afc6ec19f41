package org.agentflan.trainer;

import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.data.Packer;

/**
 * The rows of one optimizer step across all ranks, and this rank's part of them. Every rank reads the whole global
 * batch from its own copy of the data stream, so the stream's cursor is the same global position on every rank (and
 * in every checkpoint, whatever the number of ranks that wrote it); each rank then keeps rows {@code rank, rank +
 * ranks, rank + 2 ranks, ...}, a disjoint split of the same global order. Striding rather than cutting into blocks
 * spreads a short last batch over all ranks. Packing the rows other ranks train on costs each rank a copy of their
 * token ids, far below a forward pass.
 *
 * @param mine this rank's rows as micro-batches of {@code micro_batch} rows (the last one padded); empty when the
 *     global batch has fewer rows than there are ranks and this rank's turn did not come
 * @param rows rows in the global batch (all ranks)
 * @param tokens tokens in the global batch
 * @param lossTokens loss tokens in the global batch: every rank divides its loss by this count, so that the summed
 *     gradient is that of the mean over all loss tokens of the step however the rows are split
 */
record GlobalBatch(List<MicroBatch> mine, long rows, long tokens, long lossTokens) {

    /**
     * Reads the next global batch of {@code microBatch x gradAccum x ranks} rows (fewer at the end of the data; none
     * when it ran out) and keeps rank {@code rank}'s part.
     */
    static GlobalBatch next(DataStream stream, int rank, int ranks, int microBatch, int gradAccum, int seqLen) {
        long wanted = (long) microBatch * gradAccum * ranks;
        List<Packer.PackedRow> mine = new ArrayList<>();
        long rows = 0;
        long tokens = 0;
        long lossTokens = 0;
        Packer.PackedRow row;
        while (rows < wanted && (row = stream.next()) != null) {
            if (rows % ranks == rank) {
                mine.add(row);
            }
            rows++;
            tokens += row.tokens();
            lossTokens += row.lossTokens();
        }
        List<MicroBatch> micro = new ArrayList<>();
        for (int from = 0; from < mine.size(); from += microBatch) {
            micro.add(MicroBatch.of(mine.subList(from, Math.min(mine.size(), from + microBatch)), microBatch, seqLen));
        }
        return new GlobalBatch(List.copyOf(micro), rows, tokens, lossTokens);
    }

    /** The data ran out: no row at all for this step. */
    boolean isEmpty() {
        return rows == 0;
    }
}
