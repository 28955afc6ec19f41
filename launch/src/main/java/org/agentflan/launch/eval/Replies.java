package org.agentflan.launch.eval;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.trainer.inference.Generator;
import org.agentflan.trainer.inference.Sampler;
import org.agentflan.trainer.metrics.Progress;

/**
 * Greedy replies to many prompts, each rendered as {@code generate} renders one ({@link ChatTemplate#promptIds}),
 * decoded in batches of prompts of similar length ({@link Generator#generate(List, int, Set, Sampler)}) until the
 * assistant end marker, EOS or the new-token limit. Prints a progress line with the rate and an ETA after each batch.
 */
final class Replies {
    private final Generator generator;
    private final Llama2Tokenizer tokenizer;
    private final Set<Long> stops;
    private final int maxNewTokens;
    private final int batchSize;
    private final int maxLength;
    private final PrintWriter progress;

    Replies(Generator generator, Llama2Tokenizer tokenizer, Set<Long> stops, int maxNewTokens, int batchSize,
            int maxLength, PrintWriter progress) {
        this.generator = generator;
        this.tokenizer = tokenizer;
        this.stops = stops;
        this.maxNewTokens = maxNewTokens;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
        this.progress = progress;
    }

    /** The reply to each prompt, in order; null for a prompt that leaves the model no room to answer. */
    List<String> of(List<List<ChatTurn>> prompts, String label) {
        List<long[]> ids = new ArrayList<>();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            long[] prompt = Arrays.stream(ChatTemplate.promptIds(tokenizer, prompts.get(i))).asLongStream().toArray();
            ids.add(prompt);
            if (prompt.length + 1 < maxLength) {
                order.add(i);
            }
        }
        order.sort(Comparator.comparingInt(i -> ids.get(i).length)); // similar lengths batch with little padding
        String[] replies = new String[prompts.size()];
        long start = System.nanoTime();
        for (int from = 0; from < order.size(); from += batchSize) {
            List<Integer> batch = order.subList(from, Math.min(order.size(), from + batchSize));
            List<Generator.Result> results = generator.generate(batch.stream().map(ids::get).toList(), maxNewTokens,
                    stops, new Sampler(0, 1, 0));
            for (int k = 0; k < batch.size(); k++) {
                replies[batch.get(k)] = tokenizer.decode(results.get(k).tokens().stream().mapToInt(Long::intValue).toArray());
            }
            int done = from + batch.size();
            double seconds = (System.nanoTime() - start) / 1e9;
            double rate = done / Math.max(seconds, 1e-9);
            progress.printf(Locale.ROOT, "eval: %s %d/%d replies, %.2f replies/s, ETA %s%n", label, done, order.size(),
                    rate, Progress.duration((long) ((order.size() - done) / Math.max(rate, 1e-9))));
            progress.flush();
        }
        return Arrays.asList(replies);
    }
}
