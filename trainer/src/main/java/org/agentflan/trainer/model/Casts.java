package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Dtype casts that keep the autograd graph. In DJL 0.36's PyTorch engine {@code NDArray.toType} returns a tensor
 * without a grad_fn, so a mixed-precision forward built on it silently trains nothing but the LM head (measured:
 * every other gradient was zero). An in-place add into a zero tensor of the target dtype is recorded by autograd
 * and casts the gradient back on the way down.
 */
final class Casts {
    private Casts() {
    }

    /** {@code x} as {@code type}; the result belongs to {@code manager}. */
    static NDArray to(NDArray x, DataType type, NDManager manager) {
        if (x.getDataType() == type) {
            return x;
        }
        NDArray out;
        if (JniUtils.isGradMode()) {
            out = manager.zeros(x.getShape(), type);
            out.addi(x);
        } else {
            // No graph is being recorded (scoring, generation): the plain cast is cheaper.
            out = x.toType(type, false);
            out.attach(manager);
        }
        return out;
    }

    /** {@code x} as {@code type}, in the manager of {@code x}. */
    static NDArray to(NDArray x, DataType type) {
        return to(x, type, x.getManager());
    }
}
