package org.agentflan.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

public class DataStreamTest {
    /**
     * {@code n} samples of 2 to {@code maxLen} tokens whose first token is 1000 + index, so rows reveal which sample
     * they hold; random ids and masks (the last token always carries loss), two sources, capability labels.
     */
    public static List<Sample> samples(int n, int maxLen, long seed) {
        Random random = new Random(seed);
        List<Sample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 2 + random.nextInt(maxLen - 1);
            int[] ids = new int[len];
            int[] mask = new int[len];
            int[] labels = new int[len];
            ids[0] = 1000 + i;
            for (int t = 1; t < len; t++) {
                ids[t] = 1 + random.nextInt(50);
                mask[t] = random.nextInt(4) == 0 ? 0 : 1;
                // Loss tokens carry the sample's capability; a third of the others one of a masked turn.
                labels[t] = mask[t] == 1 ? 1 + i % 5 : random.nextInt(3) == 0 ? 1 + (i + 2) % 5 : 0;
            }
            mask[len - 1] = 1;
            labels[len - 1] = 1 + i % 5;
            out.add(new Sample("s" + i, i % 3 == 0 ? "chat" : "agent", ids, mask, labels));
        }
        return out;
    }

    private static List<Integer> sampleStarts(Packer.PackedRow row) {
        List<Integer> starts = new ArrayList<>();
        for (int t = 0; t < row.tokens(); t++) {
            if (row.positions()[t] == 0) {
                starts.add(row.inputIds()[t] - 1000);
            }
        }
        return starts;
    }

    @Test
    void everySampleOncePerEpochInAShuffledOrderThatChangesPerEpoch() {
        List<Sample> data = samples(60, 12, 1);
        DataStream stream = new DataStream(data, new Packer(16, Packer.Overlong.SPLIT), 7, true, 2);
        Map<Long, List<Integer>> seen = new HashMap<>();
        Packer.PackedRow row;
        // A row never spans epochs, and the cursor after a row still names that row's epoch.
        while ((row = stream.next()) != null) {
            seen.computeIfAbsent(stream.cursor().epoch(), k -> new ArrayList<>()).addAll(sampleStarts(row));
        }
        assertEquals(2, seen.size());
        for (List<Integer> order : seen.values()) {
            assertEquals(60, order.size());
            assertEquals(60, order.stream().distinct().count());
        }
        assertFalse(seen.get(0L).equals(seen.get(1L)), "epochs must be shuffled differently");
        List<Integer> sorted = new ArrayList<>(seen.get(0L));
        sorted.sort(null);
        assertFalse(seen.get(0L).equals(sorted), "epoch 0 must be shuffled");
        assertNull(stream.next());
    }

    @Test
    void sameSeedSameRowsAndCountMatchesRowsProduced() {
        List<Sample> data = samples(40, 20, 2);
        Packer packer = new Packer(16, Packer.Overlong.SPLIT);
        DataStream a = new DataStream(data, packer, 3, true, 3);
        DataStream b = new DataStream(data, packer, 3, true, 3);
        long expected = a.countRemainingRows();
        long rows = 0;
        Packer.PackedRow ra;
        while ((ra = a.next()) != null) {
            Packer.PackedRow rb = b.next();
            assertArrayEquals(ra.inputIds(), rb.inputIds());
            assertArrayEquals(ra.lossMask(), rb.lossMask());
            rows++;
        }
        assertEquals(expected, rows);
    }

    @Test
    void seekingToASavedCursorContinuesAtTheExactNextRowEvenInsideASplitSample() {
        List<Sample> data = samples(30, 40, 3); // many samples longer than 16 are split into pieces
        Packer packer = new Packer(16, Packer.Overlong.SPLIT);
        DataStream straight = new DataStream(data, packer, 11, true, 3);
        List<int[]> rows = new ArrayList<>();
        List<DataCursor> cursors = new ArrayList<>();
        Packer.PackedRow row;
        while ((row = straight.next()) != null) {
            rows.add(row.inputIds());
            cursors.add(straight.cursor());
        }
        boolean sawMidSample = cursors.stream().anyMatch(c -> c.piece() > 0);
        assertTrue(sawMidSample, "fixture should stop inside a split sample at least once");
        for (int k = 0; k < rows.size() - 1; k += 5) {
            DataStream resumed = new DataStream(data, packer, 11, true, 3);
            resumed.seek(cursors.get(k));
            for (int j = k + 1; j < rows.size(); j++) {
                assertArrayEquals(rows.get(j), resumed.next().inputIds(), "row " + j + " after resuming at " + k);
            }
            assertNull(resumed.next());
        }
    }

    @Test
    void microBatchPadsMissingRowsWithoutLoss() {
        Packer packer = new Packer(4, Packer.Overlong.SPLIT);
        Packer.RowBuilder row = packer.newRow(false);
        row.add(packer.pieces(new Sample("x", new int[] {1, 2, 3}, new int[] {0, 1, 1})).get(0));
        MicroBatch batch = MicroBatch.of(List.of(row.build()), 2, 4);
        assertArrayEquals(new long[] {1, 2, 3, 0, 0, 0, 0, 0}, batch.inputIds());
        assertArrayEquals(new float[] {1, 1, 0, 0, 0, 0, 0, 0}, batch.lossMask());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0, 0, 0, 0}, batch.segmentIds());
        assertEquals(2, batch.lossTokens());
        assertEquals(1, batch.realRows());
        assertEquals(Arrays.asList(0L, 1L, 2L, 0L), Arrays.stream(batch.positions()).limit(4).boxed().toList());
    }
}
