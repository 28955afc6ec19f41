package org.agentflan.trainer.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.agentflan.trainer.model.KvCache;
import org.agentflan.trainer.model.LlamaModel;

/**
 * Autoregressive decoding with a KV cache: the prompt runs once, then each new token costs one single-token
 * forward pass. Stops at a stop token (the assistant end marker or EOS), at {@code maxNewTokens}, or at the
 * model's maximum length.
 */
public final class Generator {
    /** Why generation ended. */
    public enum StopReason { STOP_TOKEN, MAX_NEW_TOKENS, MAX_LENGTH }

    /** The new tokens (stop token excluded) and why decoding stopped. */
    public record Result(List<Long> tokens, StopReason reason, double tokensPerSecond) {}

    private final LlamaModel model;
    private final DataType computeType;

    public Generator(LlamaModel model, DataType computeType) {
        this.model = model;
        this.computeType = computeType;
    }

    public Result generate(long[] prompt, int maxNewTokens, Set<Long> stopTokens, Sampler sampler) {
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("max new tokens must be > 0, got " + maxNewTokens);
        }
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        int maxLength = model.config().maxPositionEmbeddings();
        if (prompt.length >= maxLength) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens leaves no room under max_position_embeddings "
                    + maxLength);
        }
        // Checked once, here on the host: the model does not read its input back, and generated ids are in range.
        int vocab = model.config().vocabSize();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + i + " is id " + prompt[i] + ", outside the model's"
                        + " vocabulary [0, " + vocab + ")");
            }
        }
        List<Long> generated = new ArrayList<>();
        long start = System.nanoTime();
        try (NDManager manager = model.manager().getParentManager().newSubManager();
             KvCache cache = new KvCache(model.config(), manager)) {
            long[] next = prompt;
            while (true) {
                long token;
                try (NDManager step = manager.newSubManager()) {
                    NDArray ids = step.create(next, new Shape(1, next.length));
                    NDArray hidden = model.forward(ids, cache, computeType);
                    NDArray last = hidden.get(":, -1:, :");
                    token = sampler.next(model.logits(last).toFloatArray());
                }
                if (stopTokens.contains(token)) {
                    return result(generated, StopReason.STOP_TOKEN, start);
                }
                generated.add(token);
                if (generated.size() >= maxNewTokens) {
                    return result(generated, StopReason.MAX_NEW_TOKENS, start);
                }
                if (cache.length() + 1 >= maxLength) {
                    return result(generated, StopReason.MAX_LENGTH, start);
                }
                next = new long[] {token};
            }
        }
    }

    private static Result result(List<Long> tokens, StopReason reason, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return new Result(List.copyOf(tokens), reason, tokens.isEmpty() ? 0 : tokens.size() / seconds);
    }
}
