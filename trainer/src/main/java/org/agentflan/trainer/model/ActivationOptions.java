package org.agentflan.trainer.model;

/**
 * How a training pass keeps activations for the backward pass (config {@code model.recompute},
 * {@code model.attention_block}).
 *
 * @param recompute keep only each decoder layer's input in the forward pass, and run the layer again in the backward
 *     pass (about one more forward of compute, for the memory of one layer's activations instead of all layers')
 * @param attentionBlock query rows per block of attention (0 = all rows at once): no {@code [B,H,T,T]} score tensor
 *     exists, only {@code [B,H,block,T]} ones, in the forward and in the backward pass
 */
public record ActivationOptions(boolean recompute, int attentionBlock) {
    public static final ActivationOptions NONE = new ActivationOptions(false, 0);

    public ActivationOptions {
        if (attentionBlock < 0) {
            throw new IllegalArgumentException("attention block must be >= 0 (0 = off), got " + attentionBlock);
        }
    }

    /** Whether a training pass is driven layer by layer instead of one autograd graph of the whole model. */
    boolean layerwise() {
        return recompute || attentionBlock > 0;
    }
}
