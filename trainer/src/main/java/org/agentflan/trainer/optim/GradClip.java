package org.agentflan.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import java.util.ArrayList;
import java.util.List;

/**
 * Global gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_}: the L2 norm over all gradients
 * together (the norm of the per-tensor norms, as torch computes it); when it exceeds {@code maxNorm}, every gradient
 * is scaled by {@code maxNorm / (norm + 1e-6)}. The norm is computed on the device ({@link #norm}) so that the training
 * step reads it to the host once, together with the loss.
 */
public final class GradClip {
    private GradClip() {}

    /**
     * The global L2 norm of the gradients as an fp32 scalar on their device, NaN or Inf if any gradient is; it and its
     * temporaries belong to the first gradient's manager.
     */
    public static NDArray norm(List<NDArray> grads) {
        List<NDArray> norms = new ArrayList<>(grads.size());
        for (NDArray g : grads) {
            norms.add(g.norm());
        }
        NDArray stacked = NDArrays.stack(new NDList(norms));
        NDArray total = stacked.norm();
        norms.forEach(NDArray::close);
        stacked.close();
        return total;
    }

    /** The global L2 norm, read to the host. */
    public static double globalNorm(List<NDArray> grads) {
        try (NDArray norm = norm(grads)) {
            return norm.getFloat();
        }
    }

    /** Scales the gradients in place when the norm is above {@code maxNorm} (0 or less: never); returns the norm. */
    public static double clip(List<NDArray> grads, double maxNorm) {
        double norm = globalNorm(grads);
        clipTo(grads, maxNorm, norm);
        return norm;
    }

    /** Scales the gradients in place when {@code norm}, their global norm read earlier, is above {@code maxNorm}. */
    public static void clipTo(List<NDArray> grads, double maxNorm, double norm) {
        if (maxNorm > 0 && Double.isFinite(norm)) {
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1.0) {
                for (NDArray g : grads) {
                    g.muli((float) coef);
                }
            }
        }
    }
}
