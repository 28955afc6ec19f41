package org.agentflan.trainer.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Rotary tables and the rotate-half application against {@code rope.json} from the reference script. */
class RotaryEmbeddingTest {

    @Test
    void tablesAndRotationMatchTheReference() throws Exception {
        JsonNode golden = new ObjectMapper().readTree(ReferenceCase.resource("rope.json").toFile());
        int d = golden.get("head_dim").asInt();
        double theta = golden.get("theta").asDouble();
        JsonNode positions = golden.get("positions");
        int maxPosition = positions.get(positions.size() - 1).asInt() + 1;
        float[][] tables = RotaryEmbedding.tables(d, maxPosition, theta);
        float[] cos = ReferenceCase.floats(golden.get("cos"));
        float[] sin = ReferenceCase.floats(golden.get("sin"));
        for (int i = 0; i < positions.size(); i++) {
            int p = positions.get(i).asInt();
            for (int j = 0; j < d; j++) {
                // angles are computed in double on both sides; only the final float rounding may differ
                assertEquals(cos[i * d + j], tables[0][p * d + j], 1e-6, "cos at position " + p + ", dim " + j);
                assertEquals(sin[i * d + j], tables[1][p * d + j], 1e-6, "sin at position " + p + ", dim " + j);
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            RotaryEmbedding rope = new RotaryEmbedding(d, maxPosition, theta, manager);
            long[] pos = new long[positions.size()];
            for (int i = 0; i < pos.length; i++) {
                pos[i] = positions.get(i).asLong();
            }
            NDArray[] cosSin = rope.lookUp(manager.create(pos, new Shape(1, pos.length)), DataType.FLOAT32);
            NDArray x = manager.create(ReferenceCase.floats(golden.get("x")), new Shape(1, 2, pos.length, d));
            float[] rotated = RotaryEmbedding.apply(x, cosSin[0], cosSin[1], d).toFloatArray();
            double error = ReferenceCase.relativeL2(rotated, ReferenceCase.floats(golden.get("rotated")));
            assertTrue(error < 1e-6, "rotated relative L2 error " + error);
        }
    }

    @Test
    void interleavedLayoutWouldBeCaught() throws Exception {
        // Meta's original layout rotates pairs (x0,x1),(x2,x3)...; it differs from rotate-half, so the golden check
        // above would fail on it. Confirm the two layouts really differ on the golden input.
        JsonNode golden = new ObjectMapper().readTree(ReferenceCase.resource("rope.json").toFile());
        int d = golden.get("head_dim").asInt();
        float[] x = ReferenceCase.floats(golden.get("x"));
        float[] expected = ReferenceCase.floats(golden.get("rotated"));
        float[] cos = ReferenceCase.floats(golden.get("cos"));
        float[] sin = ReferenceCase.floats(golden.get("sin"));
        int positions = cos.length / d;
        float[] interleaved = new float[x.length];
        for (int row = 0; row < x.length / d; row++) {
            int p = row % positions;
            for (int i = 0; i < d / 2; i++) {
                float a = x[row * d + 2 * i];
                float b = x[row * d + 2 * i + 1];
                float c = cos[p * d + i];
                float s = sin[p * d + i];
                interleaved[row * d + 2 * i] = a * c - b * s;
                interleaved[row * d + 2 * i + 1] = a * s + b * c;
            }
        }
        assertTrue(ReferenceCase.relativeL2(interleaved, expected) > 0.1);
    }
}
