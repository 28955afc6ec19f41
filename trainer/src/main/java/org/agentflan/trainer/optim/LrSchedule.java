package org.agentflan.trainer.optim;

/**
 * Learning rate per optimizer step: linear warm-up to the peak over {@code warmupSteps} ({@code (k+1)/W}, so the
 * first step already learns), then cosine or linear decay to {@code minLrRatio * peak} at the last step, or
 * constant. Pure function of the step, so a resumed run needs no schedule state.
 */
public record LrSchedule(Kind kind, double peakLr, long warmupSteps, long totalSteps, double minLrRatio) {
    public enum Kind { COSINE, LINEAR, CONSTANT }

    /** The multiplier of the peak LR at 0-based step {@code k}. */
    public double factor(long k) {
        if (k < warmupSteps) {
            return (double) (k + 1) / warmupSteps;
        }
        if (kind == Kind.CONSTANT) {
            return 1.0;
        }
        double progress = Math.min(1.0, (double) (k - warmupSteps) / Math.max(1, totalSteps - 1 - warmupSteps));
        return switch (kind) {
            case COSINE -> minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
            case LINEAR -> minLrRatio + (1 - minLrRatio) * (1 - progress);
            case CONSTANT -> 1.0;
        };
    }

    public double lr(long k) {
        return peakLr * factor(k);
    }
}
