package org.agentflan.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.checkpoint.TrainerState;

/**
 * What may change when a run resumes. A checkpoint's steps were trained under one config; continuing under another
 * would change the run without a word: a new batch size or step count recomputes the schedule (the learning rate
 * jumps, data goes untrained), a new learning rate or seed changes the updates, new data makes the saved cursor point
 * at other samples. So every key must equal the checkpoint's except the few below, which only say how the run is
 * watched and saved; all differences are reported at once with what to do. Every start is recorded in the run
 * folder ({@link RunRecord}), so a changed free key is traceable too.
 *
 * <p>The number of ranks may change: the data cursor counts global batches, and each rank takes its part of every
 * global batch ({@link GlobalBatch}), so what defines the run is the global batch, {@code micro_batch x grad_accum x
 * ranks} rows, not its three factors. Resuming 2 ranks' checkpoint on 1 rank with twice the {@code grad_accum}
 * continues at the exact next sample with the same updates (up to float summation order).
 */
final class ResumePolicy {
    /** Keys (or key prefixes) that may differ on resume: they do not touch the weights, the data order or the schedule. */
    static final List<String> FREE = List.of("run_dir", "threads", "checkpoint", "eval", "log", "nan", "distributed");
    /** Compared only when compute_dtype is float16, the one dtype it acts on. */
    private static final String LOSS_SCALE = "loss_scale";
    /** Compared as one number, the global batch, rather than key by key. */
    private static final String BATCH = "batch";

    private ResumePolicy() {}

    /**
     * Throws a {@link TrainException} listing every key that differs from the checkpoint's config, and the global batch
     * if it differs (this run has {@code worldSize} ranks).
     */
    static void requireSameRun(TrainConfig config, int worldSize, TrainerState state, Path checkpoint) {
        List<String> differences = new ArrayList<>();
        JsonNode savedConfig = state.config().deepCopy();
        JsonNode mine = ConfigLoader.toTree(config);
        if (config.computeDtype() != TrainConfig.Dtype.FLOAT16 && savedConfig.isObject() && mine.isObject()) {
            // loss_scale acts only on fp16 compute (and checkpoints from before it existed lack it).
            ((ObjectNode) savedConfig).remove(LOSS_SCALE);
            ((ObjectNode) mine).remove(LOSS_SCALE);
        }
        compare("", savedConfig, mine, differences);
        long savedMicro = state.config().path(BATCH).path("micro_batch").asLong();
        long savedAccum = state.config().path(BATCH).path("grad_accum").asLong();
        long saved = savedMicro * savedAccum * state.worldSize();
        long now = (long) config.batch().microBatch() * config.batch().gradAccum() * worldSize;
        if (saved != now) {
            differences.add(String.format("global batch (batch.micro_batch x batch.grad_accum x ranks): %d rows (%d x %d x %d)"
                    + " in the checkpoint, %d rows (%d x %d x %d) now; on another number of ranks, choose batch.micro_batch"
                    + " and batch.grad_accum so that the product stays %d", saved, savedMicro, savedAccum, state.worldSize(),
                    now, config.batch().microBatch(), config.batch().gradAccum(), worldSize, saved));
        }
        if (!differences.isEmpty()) {
            throw new TrainException("cannot resume from " + checkpoint + ": the config differs from the one its "
                    + state.step() + " steps were trained with (" + String.join("; ", differences) + "). These keys fix"
                    + " the weights, the data order or the schedule, so continuing would silently change the run. Use"
                    + " the checkpoint's values (its config is in " + checkpoint.resolve(TrainerState.FILE) + "), or"
                    + " start a separate run: --resume none with another --run-dir, or model.init=hf with model.hf_dir="
                    + checkpoint.resolve("model") + " to start from its weights");
        }
    }

    /**
     * Throws a {@link TrainException} unless the training data is the data the checkpoint was trained on (same
     * fingerprint): on other data its saved cursor would point at other samples.
     */
    static void requireSameData(TrainConfig config, String fingerprint, TrainerState state, Path checkpoint) {
        if (!state.dataFingerprint().equals(fingerprint)) {
            throw new TrainException("the training data in " + config.data().dirs() + " is not the data " + checkpoint
                    + " was trained on (fingerprint " + fingerprint + " vs " + state.dataFingerprint()
                    + "), so its data cursor would point at other samples; resume with the original data, or start over with --resume none or another --run-dir");
        }
    }

    private static void compare(String prefix, JsonNode saved, JsonNode mine, List<String> differences) {
        if (isFree(prefix)) {
            return;
        }
        if (saved != null && mine != null && saved.isObject() && mine.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = saved.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                compare(join(prefix, e.getKey()), e.getValue(), mine.get(e.getKey()), differences);
            }
            for (Iterator<String> it = mine.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!saved.has(key) && !isFree(join(prefix, key))) {
                    differences.add(join(prefix, key) + " is new (not in the checkpoint's config)");
                }
            }
            return;
        }
        if (!sameValue(saved, mine)) {
            differences.add(prefix + ": " + saved + " in the checkpoint, " + mine + " now");
        }
    }

    /** 42 read back from JSON is an int node, the config's is a long node: numbers compare by value. */
    private static boolean sameValue(JsonNode a, JsonNode b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }

    private static boolean isFree(String key) {
        return key.equals(BATCH) || key.startsWith(BATCH + ".")
                || FREE.stream().anyMatch(f -> key.equals(f) || key.startsWith(f + "."));
    }

    private static String join(String prefix, String key) {
        return prefix.isEmpty() ? key : prefix + "." + key;
    }
}
