package org.agentflan.trainer.distributed;

import ai.djl.ndarray.types.DataType;

/** The element types collectives sum; the ordinal is the code the native shims switch on. */
public enum ElementType {
    FLOAT32(4),
    FLOAT16(2),
    BFLOAT16(2);

    private final int bytes;

    ElementType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    int code() {
        return ordinal();
    }

    /** Gradients and weights only: integer and float64 tensors are refused by name. */
    public static ElementType of(DataType type) {
        return switch (type) {
            case FLOAT32 -> FLOAT32;
            case FLOAT16 -> FLOAT16;
            case BFLOAT16 -> BFLOAT16;
            default -> throw new DistributedException("collectives sum float32, float16 or bfloat16 tensors; got " + type);
        };
    }
}
