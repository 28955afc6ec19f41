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
     * 1 when some tensor holds a NaN or an infinity, else 0, as an fp32 scalar on the tensors' device, owned by
     * {@code scope}: one value to read, where {@link #firstNonFinite} reads two per tensor (a training step reads this
     * and looks for the name only when it is 1).
     */
    public static NDArray anyNonFinite(Map<String, NDArray> tensors, NDManager scope) {
        NDList extremes = new NDList();
        for (NDArray t : tensors.values()) {
            NDArray max = t.max();
            NDArray min = t.min();
            max.attach(scope);
            min.attach(scope);
            extremes.add(max);
            extremes.add(min);
        }
        NDArray stacked = NDArrays.stack(extremes);
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
     * True when every element of a floating-point array is finite. The maximum is NaN when any element is NaN (PyTorch's
     * reductions propagate NaN) and +Inf when any is; the minimum catches -Inf. Two reductions, no temporary as large as
     * the array: loading a checkpoint stays within the weights' own memory.
     */
    public static boolean isFinite(NDArray array) {
        if (array.size() == 0) {
            return true;
        }
        // Results of an operation belong to its operand's manager (a weight's lives as long as the model): the two
        // scalars are moved into a scope that frees them here.
        try (NDManager scope = array.getManager().newSubManager()) {
            NDArray max = array.max();
            max.attach(scope);
            NDArray min = array.min();
            min.attach(scope);
            return Float.isFinite(max.getFloat()) && Float.isFinite(min.getFloat());
        }
    }
}
