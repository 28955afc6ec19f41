package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.agentflan.config.ConfigEnums;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.distributed.DistributedException;
import org.agentflan.trainer.distributed.RankAssignment;
import org.agentflan.trainer.distributed.RankSources;
import org.agentflan.trainer.eval.LossReport;
import org.agentflan.trainer.metrics.CapabilityPlot;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.metrics.Progress;
import org.agentflan.trainer.metrics.TrainingFigure;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.LossScaler;
import org.agentflan.trainer.optim.LrSchedule;

/**
 * The full-parameter SFT recipe, top to bottom. Setup: config, run folder (locked for the run), resume point, run
 * record, data, model, optimizer, schedule. Then one loop iteration per optimizer step: take the step
 * ({@link OptimizerStep}), log it, evaluate when due ({@link Evaluation}), save when due or stopping
 * ({@link TrainCheckpoints}). A run stops when its steps are done, the data runs out, too many steps in a row are
 * non-finite, {@code --stop-at-step} is reached or SIGTERM/SIGINT arrives ({@link StopSignals}). Reusable parts live
 * in the {@code data}, {@code model}, {@code optim}, {@code checkpoint} and {@code metrics} packages; this class
 * wires them.
 *
 * <p>The same loop runs as one rank of a data-parallel job ({@link DataParallel}; ranks from torchrun's variables or
 * {@code train --nproc}): each rank trains on its part of every global batch ({@link GlobalBatch}), the gradients are
 * summed over the ranks ({@link GradientReducer}), every rank starts from the same weights ({@link IdenticalStart})
 * and stops after the same step, and rank 0 alone writes the run folder. A single process is a job of one rank.
 */
public final class Train {
    /**
     * @param configFile YAML recipe, or null for defaults
     * @param runDir overrides {@code run_dir} when not null
     * @param maxSteps overrides {@code max_steps} when not null
     * @param resume null: resume from the run's {@code latest} if any; "none": start fresh; else a checkpoint folder
     * @param stopAtStep when not null, checkpoint and exit once this step is done, without changing the schedule
     * @param ranks this process's rank in its job; null: from the environment ({@link RankSources}), one process
     *     when no launcher set it
     */
    public record Options(Path configFile, List<String> overrides, Path runDir, Long maxSteps, String resume,
                          Long stopAtStep, RankAssignment ranks) {
        /** Options of a process whose rank, if any, comes from the environment. */
        public Options(Path configFile, List<String> overrides, Path runDir, Long maxSteps, String resume, Long stopAtStep) {
            this(configFile, overrides, runDir, maxSteps, resume, stopAtStep, null);
        }
    }

    /**
     * What a run did; {@code losses} maps each step this process ran to its loss (NaN for a skipped step). On ranks
     * other than 0, which write no metrics, {@code metrics} and {@code plot} are null; {@code plot} is also null when the
     * run logged no finite train loss (stopped before its first step), so there was nothing to draw.
     */
    public record Result(Path runDir, long startStep, long endStep, long totalSteps, Map<Long, Double> losses,
                         Path lastCheckpoint, StopReason stopReason, Path metrics, Path plot) {}

    /** Called once per step, after the optimizer step and before its metrics line (tests inject work here). */
    @FunctionalInterface
    interface StepHook {
        void afterStep(long step, LlamaModel model);
    }

    public static Result run(Options options, PrintStream console) throws IOException {
        return run(options, console, (step, model) -> { }, SaveObserver.NONE);
    }

    // ------------------------------------------------------------------ setup

    /** {@code saves} sees each checkpoint save's progress (the crash test stops the process inside a save with it). */
    static Result run(Options options, PrintStream console, StepHook hook, SaveObserver saves) throws IOException {
        TrainConfig cfg = TrainConfig.load(options.configFile(), overrides(options));
        RankAssignment assignment = options.ranks() != null ? options.ranks() : RankSources.fromEnvironment(System.getenv());
        JsonNode resolved = ConfigLoader.toTree(cfg);
        String configHash = Fingerprint.ofConfig(resolved);
        Engine engine = Engine.getEngine("PyTorch");
        Device device = device(engine, assignment);
        DataType computeType = computeType(cfg.computeDtype(), device); // before any work: no run folder, no data
        try (DataParallel ranks = DataParallel.join(assignment, device, configHash,
                Duration.ofSeconds(cfg.distributed().timeoutS()), console)) {
            Path runDir = ranks.isLeader() ? RunFolder.create(Path.of(cfg.runDir())) : Path.of(cfg.runDir());
            // Rank 0 alone writes the run folder, and holds it until the run ends: a second run on this folder would
            // delete this one's temporary checkpoints.
            try (RunLock lock = ranks.isLeader() ? RunLock.acquire(runDir, console) : null) {
                CheckpointManager folders = new CheckpointManager(runDir, cfg.checkpoint().keep(), saves);
                Resume resume = Resume.find(options.resume(), folders, cfg, ranks.worldSize(), console);
                if (ranks.isLeader()) {
                    // What interrupted saves left goes only now: the lock keeps other runs from saving into this folder.
                    folders.removeIncomplete();
                    recordStart(cfg, resolved, resume, engine, ranks.worldSize());
                }
                return setUp(cfg, options, console, hook, resume, resolved, configHash, folders, engine, device,
                        computeType, ranks);
            }
        }
    }

    /** The GPU of this rank ({@code LOCAL_RANK}) when the engine has GPUs, else the CPU. */
    private static Device device(Engine engine, RankAssignment ranks) {
        int gpus = engine.getGpuCount();
        if (gpus == 0) {
            return Device.cpu();
        }
        if (ranks.localRank() >= gpus) {
            throw new TrainException("local rank " + ranks.localRank() + " has no GPU: this machine has " + gpus
                    + " (start at most one rank per GPU)");
        }
        return Device.gpu(ranks.localRank());
    }

    /** {@code --run-dir} and {@code --max-steps} are overrides like any {@code --set}, applied last. */
    private static List<String> overrides(Options options) {
        List<String> overrides = new ArrayList<>(options.overrides());
        if (options.runDir() != null) overrides.add("run_dir=" + options.runDir());
        if (options.maxSteps() != null) overrides.add("max_steps=" + options.maxSteps());
        return overrides;
    }

    /** Writes the resolved config and appends this start to the run's record. */
    private static void recordStart(TrainConfig cfg, JsonNode resolved, Resume resume, Engine engine, int worldSize)
            throws IOException {
        Path runDir = Path.of(cfg.runDir());
        Files.writeString(runDir.resolve(RunFolder.CONFIG), ConfigLoader.json().writeValueAsString(resolved));
        RunRecord.append(runDir, resolved, resume.step(), resume.from(), engine, worldSize);
    }

    /**
     * The model's architecture, device and data first, so that their checks fail before any native memory is taken;
     * then, in native memory that lives as long as the loop: model, optimizer, data order and schedule.
     */
    private static Result setUp(TrainConfig cfg, Options options, PrintStream console, StepHook hook, Resume resume,
                                JsonNode resolved, String configHash, CheckpointManager folders, Engine engine,
                                Device device, DataType computeType, DataParallel ranks) throws IOException {
        StartingModel start = StartingModel.of(cfg, resume);
        start.requireSeqLen(cfg.data().seqLen());
        if (cfg.threads() > 0) {
            JniUtils.setNumThreads(cfg.threads());
        }
        TrainMemory.requireFit(cfg, start.config(), device, ranks.worldSize(), console);
        Packer packer = new Packer(cfg.data().seqLen(), cfg.data().overlong());
        ModelTokenizer tokenizer = ModelTokenizer.of(cfg);
        Datasets data = loadData(cfg, tokenizer, packer, console);
        String fingerprint = Fingerprint.ofSamples(data.train());
        if (!resume.isFresh()) {
            ResumePolicy.requireSameData(cfg, fingerprint, resume.state(), resume.from());
        }
        TrainCheckpoints checkpoints = new TrainCheckpoints(folders, cfg, resolved, configHash, fingerprint,
                tokenizer == null ? null : tokenizer.dir(), ranks);
        Evaluation evaluation = new Evaluation(data.eval(), packer, cfg, computeType);
        try (NDManager manager = NDManager.newBaseManager(device, engine.getEngineName());
             StopSignals signals = StopSignals.install(console)) {
            LlamaModel model = model(cfg, start, data, computeType, manager, console);
            IdenticalStart.require(ranks, model, fingerprint, resume.step());
            ShardedOptimizer sharded = sharded(cfg, resume, ranks, model, manager, console);
            OptimizerStep step = new OptimizerStep(engine, model,
                    sharded == null ? optimizer(cfg, resume, model, manager) : null,
                    lossScaler(cfg, computeType, resume, console), computeType, cfg.model().chunkTokens(),
                    cfg.clip().maxNorm(), manager, ranks, sharded == null ? reducer(cfg, ranks, model, console) : null,
                    sharded);
            // With max_steps the data repeats as often as the steps need; else it ends after the epochs.
            DataStream stream = new DataStream(data.train(), packer, cfg.seed(), cfg.data().shuffle(),
                    cfg.maxSteps() > 0 ? Long.MAX_VALUE : cfg.epochs());
            LrSchedule schedule = schedule(cfg, ranks.worldSize(), stream, console);
            return new Train(cfg, options, console, hook, resume, manager, signals, step, stream, schedule, evaluation,
                    checkpoints, ranks).train();
        }
    }

    /** The checkpoint's weights when resuming, else the {@code model.init} ones; checked against the data's token ids. */
    private static LlamaModel model(TrainConfig cfg, StartingModel start, Datasets data, DataType computeType,
                                    NDManager manager, PrintStream console) throws IOException {
        start.requireVocabulary(data.train());
        start.requireVocabulary(data.eval());
        LlamaModel model = start.load(cfg, manager);
        model.setTrainable(true);
        model.setActivationOptions(cfg.memory().activations());
        console.printf(Locale.ROOT, "model: %s, %,d parameters, compute %s on %s%n", start.source(),
                model.config().parameterCount(), computeType, manager.getDevice());
        return model;
    }

    private static Datasets loadData(TrainConfig cfg, ModelTokenizer tokenizer, Packer packer, PrintStream console) {
        Datasets data = Datasets.load(cfg, tokenizer);
        console.println(tokenizer == null
                ? "tokenizer: none (model.init " + ConfigEnums.name(cfg.model().init()) + " without model.tokenizer_dir), so"
                        + " the data's tokenizer is not checked against the model's"
                : "tokenizer: " + tokenizer.file() + " (sha256 " + tokenizer.sha256() + "), the data's as well");
        Packer.Stats stats = packer.stats(data.train());
        console.printf(Locale.ROOT, "data: %d train samples (%d split, %d dropped as too long, %d without loss), %d eval samples, %d loss tokens%n",
                stats.samples(), stats.splitSamples(), stats.droppedOverlong(), stats.droppedNoLoss(), data.eval().size(), stats.lossTargets());
        if (cfg.eval().every() > 0 && data.eval().isEmpty()) {
            String where = cfg.data().evalDirs().isEmpty()
                    ? "data.holdout_fraction " + cfg.data().holdoutFraction() + " kept none of the samples out"
                    : "data.eval_dirs " + cfg.data().evalDirs() + " hold none";
            throw new TrainException("eval.every is " + cfg.eval().every() + " but there are no eval samples (" + where
                    + "): raise data.holdout_fraction, set data.eval_dirs, or set eval.every=0");
        }
        if (stats.pieces() == 0) {
            throw new TrainException("no trainable samples: every sample was dropped (see the counts above; raise data.seq_len or set data.overlong=split)");
        }
        return data;
    }

    private static GradientReducer reducer(TrainConfig cfg, DataParallel ranks, LlamaModel model, PrintStream console) {
        GradientReducer reducer = new GradientReducer(ranks, model.parameters(), cfg.distributed().bucketMb() * (1L << 20));
        if (ranks.worldSize() > 1) {
            console.printf(Locale.ROOT, "distributed: rank %d of %d; gradients of %d weights summed in %d buckets of up to %d MiB%n",
                    ranks.rank(), ranks.worldSize(), model.parameters().size(), reducer.buckets().size(), cfg.distributed().bucketMb());
        }
        return reducer;
    }

    /**
     * ZeRO stage 1's optimizer of this rank's slice (fresh moments, or the checkpoint's re-cut for this world size),
     * or null for {@code distributed.zero_stage} 0, and for one rank, whose slice would be everything.
     */
    private static ShardedOptimizer sharded(TrainConfig cfg, Resume resume, DataParallel ranks, LlamaModel model,
                                            NDManager manager, PrintStream console) throws IOException {
        if (cfg.distributed().zeroStage() == 0) {
            return null;
        }
        if (ranks.worldSize() == 1) {
            console.println("distributed: zero_stage 1 on one rank changes nothing (its slice is every weight);"
                    + " the optimizer runs unsharded");
            return null;
        }
        AdamW.Settings settings = adamwSettings(cfg);
        ShardedOptimizer sharded = new ShardedOptimizer(ranks, model.parameters(), cfg.distributed().bucketMb() * (1L << 20),
                (pieces, decays, layout, rank) -> resume.isFresh() ? new AdamW(settings, pieces, decays, manager)
                        : OptimizerState.restoreSlice(resume.from(), settings, pieces, decays, layout, rank, manager));
        console.printf(Locale.ROOT, "distributed: rank %d of %d; zero_stage 1: this rank updates a slice of %,d of the %,d weights"
                        + " (%d padding elements), gradients reduce-scattered and weights all-gathered in %d rounds of"
                        + " up to %d MiB%n", ranks.rank(), ranks.worldSize(), sharded.layout().slice(),
                sharded.layout().total(), sharded.layout().padded() - sharded.layout().total(),
                sharded.rounds(), cfg.distributed().bucketMb());
        return sharded;
    }

    private static AdamW.Settings adamwSettings(TrainConfig cfg) {
        return new AdamW.Settings(cfg.optimizer().beta1(), cfg.optimizer().beta2(), cfg.optimizer().eps(),
                cfg.optimizer().weightDecay());
    }

    /** Fresh moments, or the checkpoint's: the AdamW state is half of what an exact resume needs. */
    private static AdamW optimizer(TrainConfig cfg, Resume resume, LlamaModel model, NDManager manager) throws IOException {
        AdamW.Settings settings = adamwSettings(cfg);
        return resume.isFresh() ? new AdamW(settings, model.parameters(), manager)
                : OptimizerState.restore(resume.from(), settings, model.parameters(), manager);
    }

    /**
     * The run's length and learning rates. With {@code max_steps} the data repeats as often as needed; otherwise
     * the steps are what {@code epochs} of the data fill with global batches of {@code micro_batch x grad_accum x
     * ranks} rows (counted on the fresh stream, before any resume seek).
     */
    private static LrSchedule schedule(TrainConfig cfg, int worldSize, DataStream stream, PrintStream console) {
        int microBatch = cfg.batch().microBatch();
        int gradAccum = cfg.batch().gradAccum();
        long totalSteps = cfg.maxSteps() > 0 ? cfg.maxSteps()
                : ceilDiv(stream.countRemainingRows(), (long) microBatch * gradAccum * worldSize);
        long warmup = cfg.schedule().warmupSteps() >= 0 ? cfg.schedule().warmupSteps()
                : Math.round(cfg.schedule().warmupRatio() * totalSteps);
        LrSchedule schedule = new LrSchedule(cfg.schedule().kind(), cfg.optimizer().lr(), warmup, totalSteps,
                cfg.schedule().minLrRatio());
        console.printf(Locale.ROOT, "plan: %d steps of %d x %d rows%s of %d tokens (%d rows per epoch), warm-up %d, %s schedule%n",
                totalSteps, gradAccum, microBatch, worldSize == 1 ? "" : " x " + worldSize + " ranks", cfg.data().seqLen(),
                stream.rowsPerEpoch(), warmup, ConfigEnums.name(cfg.schedule().kind()));
        return schedule;
    }

    /** The compute dtype, refused when this device cannot compute in it (checked before anything else is done). */
    private static DataType computeType(TrainConfig.Dtype dtype, Device device) {
        DataType type = dtype.dataType();
        if (type == DataType.BFLOAT16 && !device.isGpu()) {
            throw new TrainException("compute_dtype bfloat16 cannot run on " + device + ": DJL's PyTorch engine aborts the"
                    + " JVM on BF16 arrays on CPU. Use compute_dtype=float16 (16-bit compute with dynamic loss scaling,"
                    + " see loss_scale) or compute_dtype=float32 on CPU; bfloat16 is for GPUs");
        }
        return type;
    }

    /**
     * The fp16 loss scaler (null for other compute dtypes): the checkpoint's state when resuming, so the scale goes on
     * exactly where it was, else a fresh one at {@code loss_scale.init}.
     */
    private static LossScaler lossScaler(TrainConfig cfg, DataType computeType, Resume resume, PrintStream console) {
        if (computeType != DataType.FLOAT16) {
            return null;
        }
        TrainConfig.LossScale c = cfg.lossScale();
        LossScaler.State state = resume.isFresh() || resume.state().lossScale() == null
                ? new LossScaler.State(c.init(), 0) : resume.state().lossScale();
        console.printf(Locale.ROOT, "loss scaling: scale %s, x%s after %d steps without overflow, x%s on overflow, floor %s%n",
                state.scale(), c.growthFactor(), c.growthInterval(), c.backoffFactor(), c.minScale());
        return new LossScaler(state, c.growthFactor(), c.backoffFactor(), c.growthInterval(), c.minScale());
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    // ------------------------------------------------------------------ the loop

    private final TrainConfig cfg;
    private final Long stopAtStep;
    private final PrintStream console;
    private final StepHook hook;
    private final NDManager manager;
    private final StopSignals signals;
    private final OptimizerStep optimizerStep;
    private final DataStream stream;
    private final LrSchedule schedule;
    private final Evaluation evaluation;
    private final TrainCheckpoints checkpoints;
    private final DataParallel ranks;
    private final Path metricsFile;
    private final Progress progress;
    private final StepCounters counters;
    private final long startStep;
    private final Map<Long, Double> losses = new LinkedHashMap<>();
    /** The rate and ETA count from the end of setup, so model loading does not skew them. */
    private final long runStart = System.nanoTime();
    private Path lastCheckpoint;

    private Train(TrainConfig cfg, Options options, PrintStream console, StepHook hook, Resume resume, NDManager manager,
                  StopSignals signals, OptimizerStep optimizerStep, DataStream stream, LrSchedule schedule,
                  Evaluation evaluation, TrainCheckpoints checkpoints, DataParallel ranks) {
        this.cfg = cfg;
        this.stopAtStep = options.stopAtStep();
        this.console = console;
        this.hook = hook;
        this.manager = manager;
        this.signals = signals;
        this.optimizerStep = optimizerStep;
        this.stream = stream;
        this.schedule = schedule;
        this.evaluation = evaluation;
        this.checkpoints = checkpoints;
        this.ranks = ranks;
        this.metricsFile = Path.of(cfg.runDir()).resolve(RunFolder.METRICS);
        this.progress = new Progress(console, schedule.totalSteps());
        // Resume exactly where the checkpoint stopped: same counters, same position in the same data order.
        this.counters = StepCounters.at(resume);
        if (!resume.isFresh()) {
            stream.seek(resume.state().cursor());
        }
        this.startStep = counters.step();
        this.lastCheckpoint = resume.from();
    }

    /** Rank 0 writes the metrics and the plot; every rank trains. */
    private Result train() throws IOException {
        StopReason stopReason;
        try (MetricsLog metrics = ranks.isLeader() ? new MetricsLog(metricsFile, startStep) : null) {
            stopReason = trainSteps(metrics);
        } catch (DistributedException e) {
            throw new DistributedException("rank " + ranks.rank() + " stops after step " + counters.step() + ": "
                    + e.getMessage() + "; relaunch every rank to resume from "
                    + (lastCheckpoint == null ? "the start (no checkpoint yet)" : lastCheckpoint), e);
        }
        if (!ranks.isLeader()) {
            console.println("rank " + ranks.rank() + ": " + stopReason + " at step " + counters.step() + "/"
                    + schedule.totalSteps() + "; checkpoint " + lastCheckpoint);
            return new Result(Path.of(cfg.runDir()), startStep, counters.step(), schedule.totalSteps(), losses,
                    lastCheckpoint, stopReason, null, null);
        }
        Path figure = Path.of(cfg.runDir()).resolve(TrainingFigure.FILE_NAME);
        Path plot = TrainingFigure.write(metricsFile, figure) ? figure : null;
        Path capabilityPlot = Path.of(cfg.runDir()).resolve(CapabilityPlot.FILE_NAME);
        boolean capabilities = CapabilityPlot.write(metricsFile, capabilityPlot);
        console.println("run " + cfg.runDir() + ": " + stopReason + " at step " + counters.step() + "/" + schedule.totalSteps()
                + "; metrics " + metricsFile + (plot != null ? ", plot " + plot : "")
                + (capabilities ? ", " + capabilityPlot : "")
                + ", checkpoint " + lastCheckpoint);
        return new Result(Path.of(cfg.runDir()), startStep, counters.step(), schedule.totalSteps(), losses, lastCheckpoint,
                stopReason, metricsFile, plot);
    }

    /**
     * Trains until a stop condition; returns the stop reason. A checkpoint only ever follows a finite step (or an fp16
     * overflow, which the loss scaler handled and which left the last finite weights untouched): one due at a skipped
     * (non-finite) step is written after the next finite step instead, and a run that has to stop at a skipped step
     * stops without one, so {@code latest} always names weights reached by finite steps.
     */
    private StopReason trainSteps(MetricsLog metrics) throws IOException {
        boolean savePostponed = false;
        while (counters.step() < schedule.totalSteps()) {
            if (counters.step() == startStep) {
                // Asked of every rank, so that a stop that reached only some of them stops all before the first step.
                StopReason early = ranks.agreeOnStop(signals.raised(), stopAtStepReached());
                if (early == StopReason.STOP_AT_STEP) {
                    return early; // resumed at or past --stop-at-step: nothing to train
                }
                if (early != null) {
                    return stopBeforeTraining(early); // the signal came during setup: nothing new to save
                }
            }
            GlobalBatch batch = GlobalBatch.next(stream, ranks.rank(), ranks.worldSize(), cfg.batch().microBatch(),
                    cfg.batch().gradAccum(), cfg.data().seqLen());
            if (batch.isEmpty()) {
                return StopReason.DATA_EXHAUSTED;
            }
            OptimizerStep.Outcome outcome = step(batch, metrics);
            if (outcome.nonFiniteWeight() != null) {
                reportNonFiniteWeights(outcome.nonFiniteWeight());
                return StopReason.NON_FINITE;
            }
            if (tooManyNonFinite()) {
                return StopReason.NON_FINITE;
            }
            if (evaluation.due(counters.step())) {
                evaluate(metrics);
            }
            StopReason stop = stopRequested();
            boolean saveDue = savePostponed || stop != null || checkpoints.due(counters.step(), schedule.totalSteps());
            savePostponed = saveDue && !outcome.checkpointable();
            if (saveDue && outcome.checkpointable()) {
                save();
            } else if (saveDue) {
                console.println("step " + counters.step() + " was not finite, so it is not checkpointed"
                        + (stop == null ? "; the checkpoint follows the next finite step" : "; the newest checkpoint stays "
                        + (lastCheckpoint == null ? "(none)" : lastCheckpoint)));
            }
            if (stop != null) {
                return stop;
            }
        }
        if (savePostponed) {
            console.println("error: the last step " + counters.step() + " was not finite, so the end of the run is not"
                    + " checkpointed; the newest checkpoint is " + (lastCheckpoint == null ? "(none)" : lastCheckpoint));
            return StopReason.NON_FINITE;
        }
        return StopReason.COMPLETED;
    }

    // ------------------------------------------------------------------ step

    /** One optimizer step on {@code batch}, counted, then reported in the metrics and on the console. */
    private OptimizerStep.Outcome step(GlobalBatch batch, MetricsLog metrics) throws IOException {
        long stepStart = System.nanoTime();
        double collectiveStart = ranks.collectiveSeconds();
        double lr = schedule.lr(counters.step());
        OptimizerStep.Outcome outcome = optimizerStep.take(batch, lr);
        counters.advance(outcome);
        if (outcome.overflow()) {
            console.printf(Locale.ROOT, "warning: step %d: fp16 gradients overflowed at loss scale %s; skipped, scale lowered to %s%n",
                    counters.step(), outcome.lossScale(), optimizerStep.scaler().scale());
        } else if (!outcome.applied()) {
            console.printf(Locale.ROOT, "warning: step %d has a non-finite %s (loss %s, grad_norm %s); skipped (%d in a row, limit %d)%n",
                    counters.step(), Double.isFinite(outcome.loss()) ? "gradient" : "loss", outcome.loss(),
                    outcome.gradNorm(), counters.consecutiveNonFinite(), cfg.nan().maxConsecutive());
        }
        losses.put(counters.step(), outcome.applied() ? outcome.loss() : Double.NaN);
        hook.afterStep(counters.step(), optimizerStep.model());
        report(outcome, lr, (System.nanoTime() - stepStart) / 1e9, ranks.collectiveSeconds() - collectiveStart, metrics);
        return outcome;
    }

    /**
     * One metrics line per step (memory gauges included, so a leak shows as a trend; {@code comm_s}: the step's time
     * in collectives) and a console line per log.every, by rank 0.
     */
    private void report(OptimizerStep.Outcome outcome, double lr, double stepSeconds, double collectiveSeconds,
                        MetricsLog metrics) throws IOException {
        if (!ranks.isLeader()) {
            return;
        }
        double elapsed = (System.nanoTime() - runStart) / 1e9;
        double tokensPerSecond = outcome.tokens() / stepSeconds;
        ObjectNode line = MetricsLog.line("train", counters.step());
        line.put("loss", outcome.loss()).put("lr", lr).put("grad_norm", outcome.gradNorm())
                .put("tokens_per_s", tokensPerSecond).put("step_s", stepSeconds).put("comm_s", collectiveSeconds)
                .put("elapsed_s", elapsed)
                .put("loss_tokens", outcome.lossTokens()).put("epoch", stream.cursor().epoch())
                .put("skipped", !outcome.applied()).put("non_finite_weight", outcome.nonFiniteWeight())
                .put("host_reads", outcome.hostReads())
                .put("rss_bytes", MetricsLog.rssBytes())
                .put("heap_bytes", Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory())
                .put("live_arrays", manager.getManagedArrays().size());
        if (optimizerStep.scaler() != null) {
            line.put("loss_scale", outcome.lossScale()).put("overflow", outcome.overflow());
        }
        metrics.write(line);
        if (counters.step() % cfg.log().every() == 0 || counters.step() == schedule.totalSteps()) {
            progress.step(counters.step(), outcome.loss(), lr, outcome.gradNorm(), tokensPerSecond,
                    counters.step() - startStep, elapsed);
        }
    }

    /** A few skipped steps ride out a spike; a longer run of them means the run diverged, and more would only waste time. */
    private boolean tooManyNonFinite() {
        int run = counters.consecutiveNonFinite();
        if (run < cfg.nan().maxConsecutive()) {
            return false;
        }
        long last = counters.step();
        console.println("error: step" + (run == 1 ? " " + last : "s " + (last - run + 1) + " to " + last) + " had a"
                + " non-finite loss or gradient (" + run + " in a row, nan.max_consecutive " + cfg.nan().maxConsecutive()
                + "); stopping at step " + last + ". " + lastGood());
        return true;
    }

    /** An update that overflowed cannot be skipped after the fact, and no later step brings the weights back. */
    private void reportNonFiniteWeights(String weight) {
        console.println("error: step " + counters.step() + " left weight '" + weight + "' non-finite (NaN or Inf) although"
                + " its loss and gradient were finite: the update overflowed, and no later step can recover, so the run"
                + " stops at step " + counters.step() + " without checkpointing it. " + lastGood());
    }

    /** Where to go on from: a changed lr is a new run (resume refuses it), started from the last good weights. */
    private String lastGood() {
        return lastCheckpoint == null ? "There is no checkpoint yet; lower optimizer.lr or check the data, then start again"
                : "The last good checkpoint is " + lastCheckpoint + "; check the data, or go on with a lower optimizer.lr"
                        + " in a new run from its weights (model.init=hf, model.hf_dir=" + lastCheckpoint.resolve("model") + ")";
    }

    /** A signal arrived before the first step of this process: stop at once, the start point is already saved. */
    private StopReason stopBeforeTraining(StopReason signal) {
        console.println("stopping before the first step: nothing trained since " + (lastCheckpoint == null ? "the start"
                : lastCheckpoint));
        return signal;
    }

    private boolean stopAtStepReached() {
        return stopAtStep != null && counters.step() >= stopAtStep;
    }

    /**
     * Why the run must stop after this step (a signal, or --stop-at-step, on any rank), or null to go on. Every rank
     * asks once per step, so all ranks stop after the same step.
     */
    private StopReason stopRequested() {
        return ranks.agreeOnStop(signals.raised(), stopAtStepReached());
    }

    // ------------------------------------------------------------------ evaluate

    private void evaluate(MetricsLog metrics) throws IOException {
        LossReport report = evaluation.report(optimizerStep.model(), manager, ranks);
        if (!ranks.isLeader()) {
            return;
        }
        metrics.write(Evaluation.metricsLine(counters.step(), report));
        console.println(evaluation.consoleLine(counters.step(), report));
    }

    // ------------------------------------------------------------------ save

    private void save() throws IOException {
        LossScaler.State lossScale = optimizerStep.scaler() == null ? null : optimizerStep.scaler().state();
        lastCheckpoint = optimizerStep.sharded() != null
                ? checkpoints.saveSharded(counters, stream.cursor(), optimizerStep.model(), optimizerStep.sharded(), lossScale)
                : checkpoints.save(counters, stream.cursor(), optimizerStep.model(), optimizerStep.adamw(), lossScale);
        if (ranks.isLeader()) {
            console.println("checkpoint: " + lastCheckpoint);
        }
    }
}
