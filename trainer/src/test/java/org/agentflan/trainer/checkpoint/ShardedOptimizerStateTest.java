package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.FlatLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flat layout and re-sharding of ZeRO-1 moments, in one process: slices saved by 3 ranks (11 + 1 + 6 + 5 = 23
 * elements: one padding element, parameters straddling ranks) restore element for element as whole moments, as the
 * slices of 2 ranks, and as one rank's slice; and whole moments restore as slices.
 */
class ShardedOptimizerStateTest {
    private static final AdamW.Settings SETTINGS = new AdamW.Settings(0.9, 0.95, 1e-8, 0.1);

    @TempDir Path tmp;

    @Test
    void layoutCutsContiguousSlicesOnElementBoundaries() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            FlatLayout layout = FlatLayout.of(params(m), 3);
            assertEquals(23, layout.total());
            assertEquals(8, layout.slice());
            assertEquals(24, layout.padded());
            assertEquals(List.of(new FlatLayout.Piece("w", 0, 8, 0)), layout.piecesOf(0));
            assertEquals(List.of(new FlatLayout.Piece("w", 8, 11, 8), new FlatLayout.Piece("b", 0, 1, 11),
                    new FlatLayout.Piece("v", 0, 4, 12)), layout.piecesOf(1));
            assertEquals(List.of(new FlatLayout.Piece("v", 4, 6, 16), new FlatLayout.Piece("u", 0, 5, 18)), layout.piecesOf(2));
            ObjectMapper json = new ObjectMapper();
            FlatLayout back = FlatLayout.fromJson(json.readTree(json.writeValueAsString(layout.toJson(json))));
            assertTrue(back.sameParameters(layout));
            assertEquals(3, back.world());
        }
    }

    @Test
    void slicesOfThreeRanksRestoreWholeAsTwoSlicesAndBack() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = params(m);
            AdamW whole = trained(new AdamW(SETTINGS, params, m), params, m);
            Map<String, float[]> expected = new LinkedHashMap<>();
            whole.stateTensors().forEach((k, v) -> expected.put(k, v.toFloatArray()));

            // Save as 3 ranks' slices, cut from the trained whole moments.
            Path sharded = Files.createDirectories(tmp.resolve("sharded"));
            FlatLayout three = FlatLayout.of(params, 3);
            AtomicFileWriter files = new AtomicFileWriter(SaveObserver.NONE);
            for (int r = 0; r < 3; r++) {
                AdamW slice = OptimizerState.restoreSlice(writeWhole(whole), SETTINGS, pieces(params, three, r),
                        decays(params, three, r), three, r, m);
                if (r == 0) {
                    OptimizerState.writeLayout(files, sharded, slice, three);
                }
                OptimizerState.writeSlice(files, sharded, slice, three, r);
            }
            OptimizerState.verify(sharded);

            AdamW back = OptimizerState.restore(sharded, SETTINGS, params, m);
            assertEquals(whole.step(), back.step());
            back.stateTensors().forEach((k, v) -> assertArrayEquals(expected.get(k), v.toFloatArray(), k));

            FlatLayout two = three.withWorld(2);
            for (int r = 0; r < 2; r++) {
                AdamW slice = OptimizerState.restoreSlice(sharded, SETTINGS, pieces(params, two, r), decays(params, two, r), two, r, m);
                for (FlatLayout.Piece piece : two.piecesOf(r)) {
                    for (String moment : List.of("exp_avg.", "exp_avg_sq.")) {
                        float[] all = expected.get(moment + piece.name());
                        float[] part = java.util.Arrays.copyOfRange(all, (int) piece.from(), (int) piece.to());
                        assertArrayEquals(part, slice.stateTensors().get(moment + piece.name()).toFloatArray(),
                                "rank " + r + " of 2: " + moment + piece.name());
                    }
                }
            }
        }
    }

    @Test
    void aLayoutOfOtherParametersIsRefusedNamingTheFile() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = params(m);
            Path sharded = Files.createDirectories(tmp.resolve("other"));
            Map<String, NDArray> other = new LinkedHashMap<>(params);
            other.put("w", m.zeros(new Shape(12)));
            FlatLayout otherLayout = FlatLayout.of(other, 1);
            AdamW slice = new AdamW(SETTINGS, other, m);
            AtomicFileWriter files = new AtomicFileWriter(SaveObserver.NONE);
            OptimizerState.writeLayout(files, sharded, slice, otherLayout);
            OptimizerState.writeSlice(files, sharded, slice, otherLayout, 0);
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> OptimizerState.restore(sharded, SETTINGS, params, m));
            assertTrue(e.getMessage().contains("layout.json") && e.getMessage().contains("other parameters"), e.getMessage());
        }
    }

    /** w [11] (a 2-D weight, decays), b [1], v [2, 3] (decays), u [5]: 23 elements. */
    private static Map<String, NDArray> params(NDManager m) {
        Map<String, NDArray> p = new LinkedHashMap<>();
        p.put("w", m.randomNormal(new Shape(1, 11)));
        p.put("b", m.randomNormal(new Shape(1)));
        p.put("v", m.randomNormal(new Shape(2, 3)));
        p.put("u", m.randomNormal(new Shape(5)));
        return p;
    }

    /** Two AdamW steps on random gradients: moments that differ in every element. */
    private static AdamW trained(AdamW adamw, Map<String, NDArray> params, NDManager m) {
        for (int s = 0; s < 2; s++) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            params.forEach((k, v) -> grads.put(k, m.randomNormal(v.getShape())));
            adamw.update(params, grads, 1e-2);
        }
        return adamw;
    }

    private Path writeWhole(AdamW whole) throws IOException {
        Path dir = tmp.resolve("whole");
        if (!Files.exists(dir.resolve(OptimizerState.TENSORS))) {
            Files.createDirectories(dir);
            OptimizerState.write(new AtomicFileWriter(SaveObserver.NONE), dir, whole);
        }
        return dir;
    }

    private static Map<String, NDArray> pieces(Map<String, NDArray> params, FlatLayout layout, int rank) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (FlatLayout.Piece piece : layout.piecesOf(rank)) {
            out.put(piece.name(), params.get(piece.name()).reshape(-1).get(new NDIndex().addSliceDim(piece.from(), piece.to())));
        }
        return out;
    }

    private static Map<String, Boolean> decays(Map<String, NDArray> params, FlatLayout layout, int rank) {
        Map<String, Boolean> out = new LinkedHashMap<>();
        layout.piecesOf(rank).forEach(piece -> out.put(piece.name(), params.get(piece.name()).getShape().dimension() >= 2));
        return out;
    }
}
