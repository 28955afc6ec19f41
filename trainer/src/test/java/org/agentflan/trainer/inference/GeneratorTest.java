package org.agentflan.trainer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
