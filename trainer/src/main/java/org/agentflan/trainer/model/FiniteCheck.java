package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Map;

/**
 * Whether weights hold only finite numbers. A NaN or Inf weight makes every later loss NaN, so a training run checks
 * its weights after each update and a model load checks every tensor: a diverged model is reported as such, naming
 * the tensor, instead of being saved, scored or sampled from.
 */
public final class FiniteCheck {
    private FiniteCheck() {}

    /**
     * 1 when some tensor may hold a NaN or an infinity, else 0, as an fp32 scalar on the tensors' device, owned by
     * {@code scope}: one value to read, where {@link #firstNonFinite} reads one or more per tensor. One pass per
     * tensor: the sum of each, which is finite unless the tensor holds a NaN or an infinity or its sum overflowed. A
     * training step reads this and, only when it is 1, asks {@link #firstNonFinite}, which tells the two apart.
     */
    public static NDArray anyNonFinite(Map<String, NDArray> tensors, NDManager scope) {
        NDList sums = new NDList();
        for (NDArray t : tensors.values()) {
            NDArray sum = t.sum();
            sum.attach(scope);
            sums.add(sum);
        }
        NDArray stacked = NDArrays.stack(sums);
        stacked.attach(scope);
        return stacked.isNaN().logicalOr(stacked.isInfinite()).any().toType(DataType.FLOAT32, false);
    }

    /** The name of the first tensor holding a NaN or an infinity, in map order, or null when all are finite. */
    public static String firstNonFinite(Map<String, NDArray> tensors) {
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            if (!isFinite(e.getValue())) {
                return e.getKey();
            }
        }
        return null;
    }

    /**
     * True when every element of a floating-point array is finite. One pass in the common case: a sum is finite unless
     * an element is NaN or infinite, or the sum of finite elements overflows. Only a non-finite sum (a diverged
     * tensor, or that overflow) pays a second look: the maximum is NaN when any element is NaN (PyTorch's reductions
     * propagate NaN) and +Inf when any is, the minimum catches -Inf. No temporary as large as the array: loading a
     * checkpoint stays within the weights' own memory.
     */
    public static boolean isFinite(NDArray array) {
        if (array.size() == 0) {
            return true;
        }
        // Results of an operation belong to its operand's manager (a weight's lives as long as the model): the
        // scalars are moved into a scope that frees them here.
        try (NDManager scope = array.getManager().newSubManager()) {
            NDArray sum = array.sum();
            sum.attach(scope);
            if (Float.isFinite(sum.getFloat())) {
                return true;
            }
            NDArray max = array.max();
            max.attach(scope);
            NDArray min = array.min();
            min.attach(scope);
            return Float.isFinite(max.getFloat()) && Float.isFinite(min.getFloat());
        }
    }
}
