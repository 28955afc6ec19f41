package org.agentflan.trainer.optim;

/**
 * Dynamic loss scaling for fp16 compute, with {@code torch.cuda.amp.GradScaler}'s update rule
 * ({@code _amp_update_scale_}): fp16 has 5 exponent bits, so the small gradients of a backward pass in fp16 flush to
 * zero unless the loss, and with it every gradient, is multiplied by a large scale first; the optimizer then sees the
 * gradients divided by the scale again. A step whose scaled gradients overflowed (NaN or Inf) is skipped and the scale
 * multiplied by {@code backoff}; after {@code interval} good steps in a row it is multiplied by {@code growth} (unless
 * that would overflow float32, as torch checks). Unlike torch, the scale never falls below {@code minScale} (as
 * DeepSpeed's {@code min_loss_scale}): a gradient that overflows even there is not a scaling problem, and the caller
 * counts it as a non-finite step.
 *
 * <p>The state (scale and good-step count) is saved with every checkpoint, so a resumed run scales exactly as the
 * interrupted one would have.
 */
public final class LossScaler {
    /** What a checkpoint keeps: the scale and the good steps since it last changed. */
    public record State(double scale, long goodSteps) {}

    /** What {@link #update} did. */
    public enum Change { KEPT, GREW, LOWERED, AT_FLOOR }

    private final double growth;
    private final double backoff;
    private final long interval;
    private final double minScale;
    private double scale;
    private long goodSteps;

    public LossScaler(double init, double growth, double backoff, long interval, double minScale) {
        this(new State(init, 0), growth, backoff, interval, minScale);
    }

    public LossScaler(State state, double growth, double backoff, long interval, double minScale) {
        if (!(state.scale() > 0) || Float.isInfinite((float) state.scale())) {
            throw new IllegalArgumentException("loss scale must be a positive finite float32, got " + state.scale());
        }
        this.scale = (float) state.scale();
        this.goodSteps = state.goodSteps();
        this.growth = growth;
        this.backoff = backoff;
        this.interval = interval;
        this.minScale = minScale;
    }

    /** The scale to multiply this step's loss by (a float32 value, as torch keeps it). */
    public float scale() {
        return (float) scale;
    }

    public State state() {
        return new State(scale, goodSteps);
    }

    /**
     * Records one step: {@code overflowed} when its unscaled gradients held a NaN or Inf. Returns what happened to the
     * scale: LOWERED on overflow, AT_FLOOR on overflow at {@code minScale} (the scale stays), GREW after
     * {@code interval} good steps, else KEPT.
     */
    public Change update(boolean overflowed) {
        if (overflowed) {
            goodSteps = 0;
            if (scale <= minScale) {
                return Change.AT_FLOOR;
            }
            scale = Math.max((float) (scale * backoff), (float) minScale);
            return Change.LOWERED;
        }
        goodSteps++;
        if (goodSteps < interval) {
            return Change.KEPT;
        }
        goodSteps = 0;
        float grown = (float) (scale * growth);
        if (Float.isInfinite(grown)) {
            return Change.KEPT;
        }
        scale = grown;
        return Change.GREW;
    }
}
