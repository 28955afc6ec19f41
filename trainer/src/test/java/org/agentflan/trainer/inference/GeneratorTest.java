package org.agentflan.trainer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static final LlamaConfig CONFIG =
            new LlamaConfig(300, 64, 128, 2, 4, 2, 1e-5, 10000.0, 64, false, 1, 2, null, null, null, null);
    private static final long[] PROMPT = {1, 17, 42, 99, 7};

    @Test
    void kvCacheDecodingEqualsRecomputingTheWholeSequence() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 3)) {
            Generator.Result cached = new Generator(model, DataType.FLOAT32)
                    .generate(PROMPT, 12, Set.of(), new Sampler(0, 1, 0));
            assertEquals(Generator.StopReason.MAX_NEW_TOKENS, cached.reason());
            List<Long> sequence = new ArrayList<>();
            for (long id : PROMPT) {
                sequence.add(id);
            }
            List<Long> uncached = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                try (NDManager step = manager.newSubManager()) {
                    int t = sequence.size();
                    NDArray ids = step.create(sequence.stream().mapToLong(Long::longValue).toArray(), new Shape(1, t));
                    NDArray hidden = model.forward(ids, step.arange(0, t, 1, DataType.INT64).reshape(1, t),
                            step.ones(new Shape(1, t), DataType.INT32), DataType.FLOAT32);
                    float[] logits = model.logits(hidden.get(":, -1:, :")).toFloatArray();
                    long next = Sampler.argMax(logits);
                    uncached.add(next);
                    sequence.add(next);
                }
            }
            assertEquals(uncached, cached.tokens());
        }
    }

    @Test
    void stopsAtAStopTokenWithoutEmittingIt() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 3)) {
            Generator generator = new Generator(model, DataType.FLOAT32);
            List<Long> free = generator.generate(PROMPT, 6, Set.of(), new Sampler(0, 1, 0)).tokens();
            Generator.Result stopped = generator.generate(PROMPT, 6, Set.of(free.get(3)), new Sampler(0, 1, 0));
            assertEquals(Generator.StopReason.STOP_TOKEN, stopped.reason());
            assertEquals(free.subList(0, free.indexOf(free.get(3))), stopped.tokens());
        }
    }

    @Test
    void stopsAtTheModelsMaximumLength() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 3)) {
            Generator.Result result = new Generator(model, DataType.FLOAT32)
                    .generate(PROMPT, 1000, Set.of(), new Sampler(0.8, 0.95, 1));
            assertEquals(Generator.StopReason.MAX_LENGTH, result.reason());
            assertEquals(CONFIG.maxPositionEmbeddings() - PROMPT.length, result.tokens().size());
        }
    }

    @Test
    void aBatchOfPromptsOfDifferentLengthsGivesEachRowsOwnGreedyTokens() {
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(CONFIG, manager, 3)) {
            Generator generator = new Generator(model, DataType.FLOAT32);
            List<long[]> prompts = List.of(PROMPT, new long[] {1, 250}, new long[] {1, 5, 6, 7, 8, 9, 10, 11, 12},
                    new long[] {1, 33, 44});
            // A stop token taken from one row's free run makes that row finish early and leave the batch, while
            // the longest prompt keeps going past the others (its padding dropped from the cache).
            long stop = generator.generate(prompts.get(1), 20, Set.of(), new Sampler(0, 1, 0)).tokens().get(2);
            Set<Long> stops = Set.of(stop);
            List<Generator.Result> alone = new ArrayList<>();
            for (long[] prompt : prompts) {
                alone.add(generator.generate(prompt, 20, stops, new Sampler(0, 1, 0)));
            }
            List<Generator.Result> batched = generator.generate(prompts, 20, stops, new Sampler(0, 1, 0));
            assertEquals(prompts.size(), batched.size());
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(alone.get(i).tokens(), batched.get(i).tokens(), "row " + i);
                assertEquals(alone.get(i).reason(), batched.get(i).reason(), "row " + i);
            }
            assertEquals(Generator.StopReason.STOP_TOKEN, batched.get(1).reason());
            assertEquals(2, batched.get(1).tokens().size());
            assertTrue(batched.stream().anyMatch(r -> r.reason() == Generator.StopReason.MAX_NEW_TOKENS), batched.toString());
            // Rows run to the model's maximum length on their own counts: a short prompt gets more new tokens.
            List<Generator.Result> full = generator.generate(List.of(PROMPT, new long[] {1, 250}), 1000, Set.of(),
                    new Sampler(0, 1, 0));
            assertEquals(CONFIG.maxPositionEmbeddings() - PROMPT.length, full.get(0).tokens().size());
            assertEquals(CONFIG.maxPositionEmbeddings() - 2, full.get(1).tokens().size());
            assertEquals(generator.generate(new long[] {1, 250}, 1000, Set.of(), new Sampler(0, 1, 0)).tokens(),
                    full.get(1).tokens());
        }
    }
}
