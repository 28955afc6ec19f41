package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

/**
 * Keys and values of the tokens generated so far, per layer, as {@code [B,kvHeads,T,headDim]} after rotary
 * embedding and before the grouped-query repeat (so it stays {@code heads/kvHeads} times smaller).
 * Owns its arrays; close it when the sequence is done.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private int length;

    public KvCache(LlamaConfig config, NDManager parent) {
        this.manager = parent.newSubManager();
        this.keys = new NDArray[config.numHiddenLayers()];
        this.values = new NDArray[config.numHiddenLayers()];
    }

    /** Number of tokens already cached. */
    public int length() {
        return length;
    }

    /** Appends this step's keys and values for a layer; returns the full keys and values to attend over. */
    NDArray[] append(int layer, NDArray k, NDArray v) {
        NDArray newK = keys[layer] == null ? k.duplicate() : keys[layer].concat(k, 2);
        NDArray newV = values[layer] == null ? v.duplicate() : values[layer].concat(v, 2);
        newK.attach(manager);
        newV.attach(manager);
        NDScope.unregister(newK, newV); // they outlive the layer scope that created them
        if (keys[layer] != null) {
            keys[layer].close();
            values[layer].close();
        }
        keys[layer] = newK;
        values[layer] = newV;
        return new NDArray[] {newK, newV};
    }

    void advance(int tokens) {
        length += tokens;
    }

    @Override
    public void close() {
        manager.close();
    }
}
