package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.types.DataType;

/** Element types of the safetensors format, with their size and the DJL type they load as. */
public enum SafetensorsDType {
    F64(8, DataType.FLOAT64),
    F32(4, DataType.FLOAT32),
    F16(2, DataType.FLOAT16),
    // DJL 0.36 crashes on BF16 arrays on CPU, so BF16 is only ever converted, never loaded as itself.
    BF16(2, null),
    I64(8, DataType.INT64),
    I32(4, DataType.INT32),
    I16(2, DataType.INT16),
    I8(1, DataType.INT8),
    U8(1, DataType.UINT8),
    BOOL(1, DataType.BOOLEAN);

    private final int bytes;
    private final DataType djlType;

    SafetensorsDType(int bytes, DataType djlType) {
        this.bytes = bytes;
        this.djlType = djlType;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloat() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The DJL type an array of this dtype is created with when no conversion is asked for. */
    public DataType nativeDjlType() {
        return djlType == null ? DataType.FLOAT32 : djlType;
    }

    /** Parses a header dtype string; null when the format defines no such dtype here. */
    public static SafetensorsDType parse(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The safetensors dtype that stores a DJL type; BFLOAT16 is accepted as a save type only. */
    public static SafetensorsDType of(DataType type) {
        if (type == DataType.BFLOAT16) {
            return BF16;
        }
        for (SafetensorsDType t : values()) {
            if (t.djlType == type) {
                return t;
            }
        }
        throw new IllegalArgumentException("no safetensors dtype for DJL type " + type);
    }
}
