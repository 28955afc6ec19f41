package org.agentflan.trainer.optim;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * Global gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_}: the L2 norm over all gradients
 * together; when it exceeds {@code maxNorm}, every gradient is scaled by {@code maxNorm / (norm + 1e-6)}.
 */
public final class GradClip {
    private GradClip() {}

    /** The global L2 norm of the gradients, accumulated in fp32 (NaN or Inf if any gradient is). */
    public static double globalNorm(List<NDArray> grads) {
        double sumSquares = 0;
        for (NDArray g : grads) {
            try (NDArray sq = g.square(); NDArray sum = sq.sum()) {
                sumSquares += sum.getFloat();
            }
        }
        return Math.sqrt(sumSquares);
    }

    /** Scales the gradients in place when the norm is above {@code maxNorm} (0 or less: never); returns the norm. */
    public static double clip(List<NDArray> grads, double maxNorm) {
        double norm = globalNorm(grads);
        if (maxNorm > 0 && Double.isFinite(norm)) {
            double coef = maxNorm / (norm + 1e-6);
            if (coef < 1.0) {
                for (NDArray g : grads) {
                    g.muli((float) coef);
                }
            }
        }
        return norm;
    }
}
