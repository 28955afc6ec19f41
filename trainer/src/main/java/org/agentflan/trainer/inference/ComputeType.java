package org.agentflan.trainer.inference;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import java.util.Locale;

/** Parses a user's compute dtype and refuses BF16 on CPU, where DJL 0.36 crashes the JVM on BF16 arrays. */
public final class ComputeType {
    private ComputeType() {
    }

    public static DataType parse(String name, Device device) {
        DataType type = switch (name.toLowerCase(Locale.ROOT)) {
            case "float32", "fp32", "f32" -> DataType.FLOAT32;
            case "float16", "fp16", "f16", "half" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException("unknown dtype '" + name + "': use float32, float16 or bfloat16");
        };
        if (type == DataType.BFLOAT16 && !device.isGpu()) {
            throw new IllegalArgumentException("bfloat16 needs a GPU (DJL crashes on BF16 arrays on CPU): use float32 on "
                    + device);
        }
        return type;
    }
}
