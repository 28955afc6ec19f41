package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FiniteCheckTest {
    /** NaN, +Inf and -Inf are each found wherever they sit, next to huge finite values (even summing past the range) that are not. */
    @Test
    void findsEveryKindOfNonFiniteValueAnywhere() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float big = Float.MAX_VALUE;
            assertTrue(FiniteCheck.isFinite(manager.create(new float[] {big, -big, 0f, 1e-45f})));
            // The check sums first; a sum that overflows to infinity must not make finite values non-finite.
            assertTrue(FiniteCheck.isFinite(manager.create(new float[] {big, big, big})), "overflowing sum");
            assertTrue(FiniteCheck.isFinite(manager.create(new float[] {-big, -big})), "overflowing negative sum");
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                for (int at = 0; at < 4; at++) {
                    float[] values = {1f, -big, big, 2f};
                    values[at] = bad;
                    assertFalse(FiniteCheck.isFinite(manager.create(values)), bad + " at " + at);
                }
            }
            Map<String, NDArray> weights = new LinkedHashMap<>();
            weights.put("a", manager.create(new float[] {1f, 2f}));
            assertNull(FiniteCheck.firstNonFinite(weights));
            weights.put("b", manager.create(new float[] {1f, Float.NaN}));
            weights.put("c", manager.create(new float[] {Float.POSITIVE_INFINITY}));
            assertEquals("b", FiniteCheck.firstNonFinite(weights));
            try (NDManager scope = manager.newSubManager()) {
                assertEquals(1f, FiniteCheck.anyNonFinite(weights, scope).getFloat(), "b and c are not finite");
                Map<String, NDArray> finite = Map.of("a", weights.get("a"));
                assertEquals(0f, FiniteCheck.anyNonFinite(finite, scope).getFloat());
                // An overflowing sum raises the flag; the exact search then finds no culprit.
                Map<String, NDArray> huge = Map.of("h", manager.create(new float[] {big, big}));
                assertEquals(1f, FiniteCheck.anyNonFinite(huge, scope).getFloat());
                assertNull(FiniteCheck.firstNonFinite(huge));
            }
            int before = manager.getManagedArrays().size();
            FiniteCheck.firstNonFinite(weights);
            assertEquals(before, manager.getManagedArrays().size(), "no temporary outlives the check");
        }
    }
}
