package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.types.Shape;

/**
 * One tensor entry of a safetensors header.
 *
 * @param begin first byte, relative to the start of the data section
 * @param end one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, SafetensorsDType dtype, Shape shape, long begin, long end) {
    public long byteSize() {
        return end - begin;
    }

    public long numel() {
        return shape.size();
    }
}
