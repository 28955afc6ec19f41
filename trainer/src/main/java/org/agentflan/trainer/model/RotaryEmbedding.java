package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.core.Embedding;
import java.util.HashMap;
import java.util.Map;

/**
 * Rotary position embeddings in the Hugging Face "rotate half" layout: for a head vector x split into halves
 * (x1, x2), {@code rope(x) = x * cos + (-x2, x1) * sin} with angle {@code pos / theta^(2i/d)} repeated over both
 * halves. Meta's original checkpoints interleave pairs instead; loading one with the other's layout silently
 * gives wrong logits, so the layout is fixed here and checked against golden values.
 */
public final class RotaryEmbedding {
    private final NDManager manager;
    private final NDArray cosFp32;
    private final NDArray sinFp32;
    /** Tables per compute dtype, made once: casting them every layer of every step would be waste. */
    private final Map<DataType, NDArray[]> byType = new HashMap<>();

    RotaryEmbedding(int headDim, int maxPositions, double theta, NDManager manager) {
        this.manager = manager;
        float[][] tables = tables(headDim, maxPositions, theta);
        this.cosFp32 = manager.create(tables[0], new Shape(maxPositions, headDim));
        this.sinFp32 = manager.create(tables[1], new Shape(maxPositions, headDim));
        NDScope.unregister(cosFp32, sinFp32);
        byType.put(DataType.FLOAT32, new NDArray[] {cosFp32, sinFp32});
    }

    /** cos and sin tables {@code [positions][headDim]}, angles computed in double precision. */
    static float[][] tables(int headDim, int positions, double theta) {
        int half = headDim / 2;
        float[] cos = new float[positions * headDim];
        float[] sin = new float[positions * headDim];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p / Math.pow(theta, (2.0 * i) / headDim);
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * headDim + i] = c;
                cos[p * headDim + i + half] = c;
                sin[p * headDim + i] = s;
                sin[p * headDim + i + half] = s;
            }
        }
        return new float[][] {cos, sin};
    }

    /**
     * cos and sin for each position, shaped {@code [B,1,T,headDim]} to broadcast over heads, in {@code type}.
     * The result belongs to the manager of {@code positions}.
     */
    NDArray[] lookUp(NDArray positions, DataType type) {
        NDArray[] tables = tablesOf(type);
        NDArray cos = Embedding.embedding(positions, tables[0], SparseFormat.DENSE).singletonOrThrow().expandDims(1);
        NDArray sin = Embedding.embedding(positions, tables[1], SparseFormat.DENSE).singletonOrThrow().expandDims(1);
        return new NDArray[] {cos, sin};
    }

    private synchronized NDArray[] tablesOf(DataType type) {
        return byType.computeIfAbsent(type, t -> {
            NDArray cos = cosFp32.toType(t, true);
            NDArray sin = sinFp32.toType(t, true);
            cos.attach(manager);
            sin.attach(manager);
            NDScope.unregister(cos, sin); // cached for the model's lifetime, not the first step's scope
            return new NDArray[] {cos, sin};
        });
    }

    /** Applies the rotation to {@code x [B,heads,T,headDim]} given tables from {@link #lookUp}. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin, int headDim) {
        int half = headDim / 2;
        NDArray x1 = x.get("..., :" + half);
        NDArray x2 = x.get("..., " + half + ":");
        NDArray rotated = x2.neg().concat(x1, -1);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
