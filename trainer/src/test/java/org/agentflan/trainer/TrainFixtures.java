package org.agentflan.trainer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.data.DataStreamTest;
import org.agentflan.trainer.data.ShardWriter;

/** A small prepared-data folder and the overrides of a tiny, fast, deterministic (1 thread, fp32) run. */
final class TrainFixtures {
    private TrainFixtures() {}

    static Path dataDir(Path root) throws Exception {
        Path dir = root.resolve("data");
        ShardWriter.writeDataDir(dir, DataStreamTest.samples(40, 40, 9));
        return dir;
    }

    static List<String> tinyRun(Path data, String... more) {
        List<String> o = new ArrayList<>(List.of(
                "threads=1", "model.init=tiny", "model.seed=3", "data.dirs=[" + data + "]", "data.seq_len=32",
                "batch.micro_batch=2", "batch.grad_accum=2", "optimizer.lr=3e-3", "optimizer.weight_decay=0.1",
                "schedule.warmup_steps=2", "checkpoint.every=2", "checkpoint.keep=20", "log.every=1"));
        o.addAll(List.of(more));
        return o;
    }
}
