package org.agentflan.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.DataStreamTest;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.junit.jupiter.api.Test;

/** Ranks split each global batch disjointly and completely, and every rank's cursor and counts stay global. */
class GlobalBatchTest {
    private static final int SEQ_LEN = 32;
    private final List<Sample> samples = DataStreamTest.samples(40, 40, 9);
    private final Packer packer = new Packer(SEQ_LEN, Packer.Overlong.SPLIT);

    private DataStream stream() {
        return new DataStream(samples, packer, 7, true, 1);
    }

    /** The real (not padding) rows of a rank's micro-batches, as their input ids. */
    private static List<long[]> rows(GlobalBatch batch) {
        List<long[]> rows = new ArrayList<>();
        for (MicroBatch mb : batch.mine()) {
            for (int r = 0; r < mb.realRows(); r++) {
                rows.add(Arrays.copyOfRange(mb.inputIds(), r * SEQ_LEN, (r + 1) * SEQ_LEN));
            }
        }
        return rows;
    }

    @Test
    void ranksTakeInterleavedDisjointPartsOfTheSameGlobalOrder() {
        for (int ranks : new int[] {2, 3}) {
            int microBatch = 2;
            int gradAccum = 2;
            DataStream single = stream();
            List<DataStream> streams = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                streams.add(stream());
            }
            while (true) {
                // One rank with grad_accum x ranks micro-batches reads the same global batch.
                GlobalBatch whole = GlobalBatch.next(single, 0, 1, microBatch, gradAccum * ranks, SEQ_LEN);
                List<GlobalBatch> parts = new ArrayList<>();
                for (int r = 0; r < ranks; r++) {
                    parts.add(GlobalBatch.next(streams.get(r), r, ranks, microBatch, gradAccum, SEQ_LEN));
                }
                List<long[]> expected = rows(whole);
                for (int r = 0; r < ranks; r++) {
                    GlobalBatch part = parts.get(r);
                    assertEquals(whole.rows(), part.rows(), "global rows");
                    assertEquals(whole.tokens(), part.tokens(), "global tokens");
                    assertEquals(whole.lossTokens(), part.lossTokens(), "global loss tokens");
                    assertEquals(single.cursor(), streams.get(r).cursor(), "every rank's cursor is the global one");
                    assertTrue(part.mine().size() <= gradAccum, "at most grad_accum micro-batches per rank");
                    List<long[]> mine = rows(part);
                    for (int i = 0; i < mine.size(); i++) {
                        assertArrayEquals(expected.get(r + i * ranks), mine.get(i), "rank " + r + " row " + i);
                    }
                    assertEquals((expected.size() - r + ranks - 1) / ranks, mine.size(), "rank " + r + " takes every "
                            + ranks + "th row");
                }
                if (whole.isEmpty()) {
                    assertTrue(parts.stream().allMatch(GlobalBatch::isEmpty));
                    break;
                }
            }
        }
    }

    @Test
    void aRankWithoutRowsInAShortLastBatchStillKnowsTheGlobalCounts() {
        DataStream stream = stream();
        long rows = stream.countRemainingRows();
        // Skip to the last row, then read it as rank 1 of 2: rank 0 has it, rank 1 none.
        for (long i = 0; i < rows - 1; i++) {
            stream.next();
        }
        GlobalBatch last = GlobalBatch.next(stream, 1, 2, 2, 2, SEQ_LEN);
        assertEquals(1, last.rows());
        assertTrue(last.mine().isEmpty());
        assertTrue(last.lossTokens() > 0);
    }
}
