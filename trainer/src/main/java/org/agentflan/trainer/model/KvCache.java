package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

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

    /**
     * Keeps only the batch rows {@code rows} (in that order) and drops the first {@code leading} positions of every
     * row: batched generation drops finished sequences, then the padding no remaining row needs.
     */
    public void compact(long[] rows, int leading) {
        if (leading < 0 || leading > length) {
            throw new IllegalArgumentException("cannot drop " + leading + " of " + length + " cached positions");
        }
        for (int layer = 0; layer < keys.length; layer++) {
            if (keys[layer] == null) {
                continue;
            }
            NDArray[] kept = new NDArray[2];
            NDArray[] old = {keys[layer], values[layer]};
            for (int i = 0; i < 2; i++) {
                try (NDArray index = manager.create(rows)) {
                    NDArray picked = old[i].get(new NDIndex("{}", index));
                    kept[i] = picked.get(new NDIndex(":, :, {}:", leading));
                    picked.close();
                }
                kept[i].attach(manager);
                NDScope.unregister(kept[i]);
                old[i].close();
            }
            keys[layer] = kept[0];
            values[layer] = kept[1];
        }
        length -= leading;
    }

    void advance(int tokens) {
        length += tokens;
    }

    @Override
    public void close() {
        manager.close();
    }
}
