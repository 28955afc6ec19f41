package org.agentflan.trainer;

import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.ConfigLoader;
import org.agentflan.config.Validatable;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.optim.LrSchedule;

/**
 * Everything {@code agentflan train} needs, bound from YAML by {@link ConfigLoader} over {@code train-defaults.yaml}
 * (which documents every key). A resume may change only the keys {@link ResumePolicy#FREE} lists. Closed sets of
 * values are enums, written in YAML as their lowercase names ({@code init: hf}, {@code kind: cosine}).
 */
public record TrainConfig(
        String runDir,
        long seed,
        int threads,
        Dtype computeDtype,
        Model model,
        Data data,
        Batch batch,
        int epochs,
        long maxSteps,
        LossScale lossScale,
        Optimizer optimizer,
        Schedule schedule,
        Clip clip,
        Checkpoint checkpoint,
        Eval eval,
        Log log,
        Nan nan,
        Distributed distributed) implements Validatable {

    public static final String DEFAULTS = "train-defaults.yaml";

    public record Model(Init init, String hfDir, long seed, String tokenizerDir, int chunkTokens) {}

    /** Where the starting weights come from: a named architecture, randomly initialised, or an HF checkpoint. */
    public enum Init { TINY, LLAMA2_7B, LLAMA2_13B, LLAMA2_70B, HF }

    /** A floating-point type for compute or for saved weights. */
    public enum Dtype {
        FLOAT32, FLOAT16, BFLOAT16;

        public DataType dataType() {
            return switch (this) {
                case FLOAT32 -> DataType.FLOAT32;
                case FLOAT16 -> DataType.FLOAT16;
                case BFLOAT16 -> DataType.BFLOAT16;
            };
        }
    }

    public record Data(List<String> dirs, List<String> evalDirs, double holdoutFraction, int seqLen,
                       Packer.Overlong overlong, boolean shuffle) {}

    public record Batch(int microBatch, int gradAccum) {}

    /**
     * Dynamic loss scaling for {@code compute_dtype: float16}, as {@code torch.cuda.amp.GradScaler}: the loss is
     * multiplied by the scale before the backward pass and the gradients divided by it after; a step whose gradients
     * overflow is skipped and the scale multiplied by {@code backoffFactor}; after {@code growthInterval} steps in a
     * row without overflow it is multiplied by {@code growthFactor}. It never falls below {@code minScale}.
     */
    public record LossScale(double init, double growthFactor, double backoffFactor, long growthInterval, double minScale) {}

    public record Optimizer(double lr, double beta1, double beta2, double eps, double weightDecay) {}

    public record Schedule(LrSchedule.Kind kind, double warmupRatio, long warmupSteps, double minLrRatio) {}

    public record Clip(double maxNorm) {}

    public record Checkpoint(long every, int keep, long maxShardBytes, Dtype saveDtype) {}

    public record Eval(long every, int maxRows) {}

    public record Log(long every) {}

    public record Nan(int maxConsecutive) {}

    /** Multi-rank runs: gradient bucket size (MiB) and the bound on any one collective, store wait or barrier. */
    public record Distributed(int bucketMb, long timeoutS) {}

    /** Loads a config file (or defaults only when {@code file} is null) with {@code --set} overrides. */
    public static TrainConfig load(java.nio.file.Path file, List<String> overrides) {
        return ConfigLoader.load(TrainConfig.class, DEFAULTS, file, overrides);
    }

    @Override
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (runDir == null || runDir.isBlank()) p.add("run_dir must be set");
        if (threads < 0) p.add("threads must be >= 0 (0 = PyTorch's default), got " + threads);
        if (model.init() == Init.HF && model.hfDir().isBlank()) p.add("model.hf_dir must name an HF checkpoint folder when model.init is hf");
        if (model.chunkTokens() <= 0) p.add("model.chunk_tokens must be > 0, got " + model.chunkTokens());
        if (data.dirs() == null || data.dirs().isEmpty()) p.add("data.dirs must list at least one prepared data folder");
        if (data.holdoutFraction() < 0 || data.holdoutFraction() >= 1) p.add("data.holdout_fraction must be in [0, 1), got " + data.holdoutFraction());
        if (data.holdoutFraction() > 0 && !data.evalDirs().isEmpty()) p.add("set data.holdout_fraction or data.eval_dirs, not both");
        if (data.seqLen() < 2) p.add("data.seq_len must be >= 2, got " + data.seqLen());
        if (batch.microBatch() <= 0) p.add("batch.micro_batch must be > 0, got " + batch.microBatch());
        if (batch.gradAccum() <= 0) p.add("batch.grad_accum must be > 0, got " + batch.gradAccum());
        if (epochs <= 0) p.add("epochs must be > 0, got " + epochs);
        if (maxSteps < 0) p.add("max_steps must be >= 0 (0 = as many as the epochs give), got " + maxSteps);
        if (lossScale.init() <= 0 || lossScale.init() > Float.MAX_VALUE) p.add("loss_scale.init must be > 0 and a finite float32, got " + lossScale.init());
        if (lossScale.growthFactor() <= 1) p.add("loss_scale.growth_factor must be > 1, got " + lossScale.growthFactor());
        if (lossScale.backoffFactor() <= 0 || lossScale.backoffFactor() >= 1) p.add("loss_scale.backoff_factor must be in (0, 1), got " + lossScale.backoffFactor());
        if (lossScale.growthInterval() <= 0) p.add("loss_scale.growth_interval must be > 0, got " + lossScale.growthInterval());
        if (lossScale.minScale() <= 0 || lossScale.minScale() > lossScale.init()) p.add("loss_scale.min_scale must be in (0, loss_scale.init], got " + lossScale.minScale());
        if (optimizer.lr() <= 0) p.add("optimizer.lr must be > 0, got " + optimizer.lr());
        if (optimizer.beta1() < 0 || optimizer.beta1() >= 1) p.add("optimizer.beta1 must be in [0, 1), got " + optimizer.beta1());
        if (optimizer.beta2() < 0 || optimizer.beta2() >= 1) p.add("optimizer.beta2 must be in [0, 1), got " + optimizer.beta2());
        if (optimizer.eps() <= 0) p.add("optimizer.eps must be > 0, got " + optimizer.eps());
        if (optimizer.weightDecay() < 0) p.add("optimizer.weight_decay must be >= 0, got " + optimizer.weightDecay());
        if (schedule.warmupRatio() < 0 || schedule.warmupRatio() > 1) p.add("schedule.warmup_ratio must be in [0, 1], got " + schedule.warmupRatio());
        if (schedule.minLrRatio() < 0 || schedule.minLrRatio() > 1) p.add("schedule.min_lr_ratio must be in [0, 1], got " + schedule.minLrRatio());
        if (clip.maxNorm() < 0) p.add("clip.max_norm must be >= 0 (0 = no clipping), got " + clip.maxNorm());
        if (checkpoint.every() < 0) p.add("checkpoint.every must be >= 0 (0 = only at the end), got " + checkpoint.every());
        if (checkpoint.keep() <= 0) p.add("checkpoint.keep must be > 0, got " + checkpoint.keep());
        if (checkpoint.maxShardBytes() <= 0) p.add("checkpoint.max_shard_bytes must be > 0, got " + checkpoint.maxShardBytes());
        if (eval.every() < 0) p.add("eval.every must be >= 0 (0 = never), got " + eval.every());
        if (eval.every() > 0 && data.evalDirs().isEmpty() && data.holdoutFraction() == 0) {
            p.add("eval.every is " + eval.every() + " but there is no eval data: set data.eval_dirs or data.holdout_fraction,"
                    + " or eval.every=0");
        }
        if (eval.maxRows() <= 0) p.add("eval.max_rows must be > 0, got " + eval.maxRows());
        if (log.every() <= 0) p.add("log.every must be > 0, got " + log.every());
        if (nan.maxConsecutive() <= 0) p.add("nan.max_consecutive must be > 0, got " + nan.maxConsecutive());
        // A bucket is all-reduced through one zero-copy view of a tensor, and DJL's views stop below 2 GiB.
        if (distributed.bucketMb() < 1 || distributed.bucketMb() > 2047) p.add("distributed.bucket_mb must be 1-2047, got " + distributed.bucketMb());
        if (distributed.timeoutS() <= 0) p.add("distributed.timeout_s must be > 0, got " + distributed.timeoutS());
        return p;
    }
}
