package org.agentflan.trainer.inference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.agentflan.trainer.model.KvCache;
import org.agentflan.trainer.model.LlamaModel;

/**
 * Autoregressive decoding with a KV cache: the prompt runs once, then each new token costs one single-token
 * forward pass. Stops at a stop token (the assistant end marker or EOS), at {@code maxNewTokens}, or at the
 * model's maximum length. Several prompts decode as one batch.
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
        return generate(List.of(prompt), maxNewTokens, stopTokens, sampler).get(0);
    }

    /**
     * Decodes several prompts at once in one KV cache, left-padded to the longest: each row's real tokens take
     * positions from 0 and never see the padding ({@link LlamaModel#forward(NDArray, KvCache, int[], DataType)}),
     * so a row gives the tokens it gives alone, up to the summation order of the batched products. Each row stops
     * on its own; a finished row leaves the batch, and so does padding no remaining row needs. With a sampling
     * {@code sampler} the rows draw from its one random stream in turn, so sampled text differs from decoding the
     * prompts one at a time; greedy decoding does not. {@code tokensPerSecond} is a row's tokens over the batch's
     * time.
     */
    public List<Result> generate(List<long[]> prompts, int maxNewTokens, Set<Long> stopTokens, Sampler sampler) {
        if (maxNewTokens <= 0) {
            throw new IllegalArgumentException("max new tokens must be > 0, got " + maxNewTokens);
        }
        int maxLength = model.config().maxPositionEmbeddings();
        int vocab = model.config().vocabSize();
        int longest = 0;
        for (long[] prompt : prompts) {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            if (prompt.length >= maxLength) {
                throw new IllegalArgumentException("prompt of " + prompt.length + " tokens leaves no room under "
                        + "max_position_embeddings " + maxLength);
            }
            // Checked once, here on the host: the model does not read its input back, and generated ids are in range.
            for (int i = 0; i < prompt.length; i++) {
                if (prompt[i] < 0 || prompt[i] >= vocab) {
                    throw new IllegalArgumentException("prompt token " + i + " is id " + prompt[i] + ", outside the"
                            + " model's vocabulary [0, " + vocab + ")");
                }
            }
            longest = Math.max(longest, prompt.length);
        }
        int n = prompts.size();
        List<List<Long>> generated = new ArrayList<>();
        Result[] results = new Result[n];
        int[] rowOf = new int[n];    // batch row -> prompt index
        int[] pads = new int[n];     // batch row -> leading padding positions
        long[] next = new long[n * longest];
        for (int p = 0; p < n; p++) {
            generated.add(new ArrayList<>());
            rowOf[p] = p;
            pads[p] = longest - prompts.get(p).length;
            // Padding positions hold id 0: no real token attends to them, so any id would do.
            System.arraycopy(prompts.get(p), 0, next, p * longest + pads[p], prompts.get(p).length);
        }
        int width = longest;
        long start = System.nanoTime();
        try (NDManager manager = model.manager().getParentManager().newSubManager();
             KvCache cache = new KvCache(model.config(), manager)) {
            while (true) {
                float[] logits;
                try (NDManager step = manager.newSubManager()) {
                    NDArray ids = step.create(next, new Shape(rowOf.length, width));
                    NDArray hidden = model.forward(ids, cache, pads, computeType);
                    logits = model.logits(hidden.get(":, -1, :")).toFloatArray();
                }
                List<Integer> going = new ArrayList<>();
                List<Long> tokens = new ArrayList<>();
                for (int r = 0; r < rowOf.length; r++) {
                    List<Long> out = generated.get(rowOf[r]);
                    long token = sampler.next(Arrays.copyOfRange(logits, r * vocab, (r + 1) * vocab));
                    StopReason reason = null;
                    if (stopTokens.contains(token)) {
                        reason = StopReason.STOP_TOKEN;
                    } else {
                        out.add(token);
                        if (out.size() >= maxNewTokens) {
                            reason = StopReason.MAX_NEW_TOKENS;
                        } else if (cache.length() - pads[r] + 1 >= maxLength) {
                            reason = StopReason.MAX_LENGTH;
                        }
                    }
                    if (reason != null) {
                        results[rowOf[r]] = result(out, reason, start);
                    } else {
                        going.add(r);
                        tokens.add(token);
                    }
                }
                if (going.isEmpty()) {
                    return List.of(results);
                }
                if (going.size() < rowOf.length) {
                    int[] keptRows = new int[going.size()];
                    int[] keptPads = new int[going.size()];
                    long[] keep = new long[going.size()];
                    for (int i = 0; i < going.size(); i++) {
                        keep[i] = going.get(i);
                        keptRows[i] = rowOf[going.get(i)];
                        keptPads[i] = pads[going.get(i)];
                    }
                    int unneeded = Arrays.stream(keptPads).min().orElse(0);
                    cache.compact(keep, unneeded);
                    rowOf = keptRows;
                    pads = Arrays.stream(keptPads).map(pad -> pad - unneeded).toArray();
                }
                next = tokens.stream().mapToLong(Long::longValue).toArray();
                width = 1;
            }
        }
    }

    private static Result result(List<Long> tokens, StopReason reason, long startNanos) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        return new Result(List.copyOf(tokens), reason, tokens.isEmpty() ? 0 : tokens.size() / seconds);
    }
}
