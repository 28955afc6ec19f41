package org.agentflan.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PackerTest {
    private static Sample s(String id, int[] ids, int[] mask) {
        return new Sample(id, ids, mask);
    }

    @Test
    void packsTwoSamplesWithTargetsPositionsAndSegmentsPerSample() {
        Packer packer = new Packer(7, Packer.Overlong.SPLIT);
        Packer.RowBuilder row = packer.newRow(false);
        row.add(packer.pieces(s("a", new int[] {1, 11, 12}, new int[] {0, 1, 1})).get(0));
        row.add(packer.pieces(s("b", new int[] {1, 21, 22}, new int[] {0, 0, 1})).get(0));
        Packer.PackedRow r = row.build();
        assertArrayEquals(new int[] {1, 11, 12, 1, 21, 22, 0}, r.inputIds());
        // The last token of each sample predicts nothing: no target crosses into the next sample.
        assertArrayEquals(new int[] {11, 12, 0, 21, 22, 0, 0}, r.targets());
        assertArrayEquals(new float[] {1, 1, 0, 0, 1, 0, 0}, r.lossMask());
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2, 0}, r.positions());
        assertArrayEquals(new int[] {1, 1, 1, 2, 2, 2, 0}, r.segmentIds());
        assertEquals(6, r.tokens());
        assertEquals(2, r.segments());
        assertEquals(3, r.lossTokens());
    }

    @Test
    void splitsOrDropsOverlongSamplesAndCountsThem() {
        Sample longOne = s("long", new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, new int[] {0, 1, 1, 1, 1, 1, 1, 1, 1, 1});
        Sample noLoss = s("quiet", new int[] {1, 2, 3}, new int[] {1, 0, 0});
        Sample ok = s("ok", new int[] {1, 2}, new int[] {0, 1});
        Packer split = new Packer(4, Packer.Overlong.SPLIT);
        List<Packer.Piece> pieces = split.pieces(longOne);
        assertEquals(3, pieces.size());
        assertEquals(List.of(0, 4, 8), pieces.stream().map(Packer.Piece::start).toList());
        assertEquals(List.of(4, 4, 2), pieces.stream().map(Packer.Piece::length).toList());
        assertEquals(new Packer.Stats(3, 1, 0, 1, 4, 12, 3 + 3 + 1 + 1), split.stats(List.of(longOne, noLoss, ok)));

        Packer drop = new Packer(4, Packer.Overlong.DROP);
        assertTrue(drop.pieces(longOne).isEmpty());
        assertEquals(new Packer.Stats(3, 0, 1, 1, 1, 2, 1), drop.stats(List.of(longOne, noLoss, ok)));
    }

    @Test
    void splitPiecesRestartPositions() {
        Packer packer = new Packer(4, Packer.Overlong.SPLIT);
        Sample longOne = s("long", new int[] {1, 2, 3, 4, 5, 6}, new int[] {1, 1, 1, 1, 1, 1});
        Packer.RowBuilder row = packer.newRow(false);
        row.add(packer.pieces(longOne).get(1));
        Packer.PackedRow r = row.build();
        assertArrayEquals(new int[] {5, 6, 0, 0}, r.inputIds());
        assertArrayEquals(new int[] {6, 0, 0, 0}, r.targets());
        assertArrayEquals(new int[] {0, 1, 0, 0}, r.positions());
        assertArrayEquals(new int[] {1, 1, 0, 0}, r.segmentIds());
    }
}
