package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.agentflan.config.ConfigEnums;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.checkpoint.SaveObserver;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.data.DataCursor;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardReader;
import org.agentflan.trainer.metrics.LossPlot;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.metrics.Progress;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.GradClip;
import org.agentflan.trainer.optim.LrSchedule;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The full-parameter SFT recipe, top to bottom: config -> data -> model -> optimizer -> resume -> for each step
 * (accumulate micro-batches -> normalise by the global batch's loss tokens -> clip -> NaN check -> AdamW step ->
 * metrics -> eval -> checkpoint -> signal check). Reusable parts live in the {@code data}, {@code optim},
 * {@code checkpoint} and {@code metrics} packages; this class only wires them.
 */
public final class Train {
    /**
     * @param configFile YAML recipe, or null for defaults
     * @param runDir overrides {@code run_dir} when not null
     * @param maxSteps overrides {@code max_steps} when not null
     * @param resume null: resume from the run's {@code latest} if any; "none": start fresh; else a checkpoint folder
     * @param stopAtStep when not null, checkpoint and exit once this step is done, without changing the schedule
     */
    public record Options(Path configFile, List<String> overrides, Path runDir, Long maxSteps, String resume,
                          Long stopAtStep) {}

    /** What a run did; {@code losses} maps each step this process ran to its loss (NaN for a skipped step). */
    public record Result(Path runDir, long startStep, long endStep, long totalSteps, Map<Long, Double> losses,
                         Path lastCheckpoint, StopReason stopReason, Path metrics, Path plot) {}

    private Train() {}

    public static Result run(Options options, PrintStream console) throws IOException {
        return run(options, console, (step, model) -> { }, SaveObserver.NONE);
    }

    /** Called once per step, after the optimizer step and before its metrics line (tests inject work here). */
    @FunctionalInterface
    interface StepHook {
        void afterStep(long step, LlamaModel model);
    }

    /** {@code saves} sees each checkpoint save's progress (the crash test stops the process inside a save with it). */
    static Result run(Options options, PrintStream console, StepHook hook, SaveObserver saves) throws IOException {
        // ---- config (and, when resuming, the checkpoint's pinned keys)
        List<String> overrides = new ArrayList<>(options.overrides());
        if (options.runDir() != null) overrides.add("run_dir=" + options.runDir());
        if (options.maxSteps() != null) overrides.add("max_steps=" + options.maxSteps());
        TrainConfig cfg = TrainConfig.load(options.configFile(), overrides);
        Path runDir = Path.of(cfg.runDir());
        Files.createDirectories(runDir);
        // Held until the run ends: a second run on this folder would delete this one's temporary checkpoints.
        try (RunLock lock = RunLock.acquire(runDir, console)) {
            return runLocked(cfg, options, console, hook, saves);
        }
    }

    private static Result runLocked(TrainConfig cfg, Options options, PrintStream console, StepHook hook,
                                    SaveObserver saves) throws IOException {
        Path runDir = Path.of(cfg.runDir());
        CheckpointManager checkpoints = new CheckpointManager(runDir, cfg.checkpoint().keep(), saves);
        Path resumeFrom = resumeTarget(options.resume(), checkpoints);
        TrainerState resumed = null;
        if (resumeFrom != null) {
            resumed = TrainerState.read(resumeFrom);
            ResumePolicy.requireSameRun(cfg, resumed, resumeFrom);
            console.println("resuming from " + resumeFrom + " (step " + resumed.step() + ")");
        }
        long resumeStep = resumed == null ? 0 : resumed.step();
        if (checkpoints.completeCheckpoints().stream().anyMatch(p -> CheckpointManager.stepOf(p) > resumeStep)) {
            console.println("warning: " + checkpoints.root() + " holds checkpoints past step " + resumeStep + " from an"
                    + " earlier run; they are replaced as this run reaches their steps (use another --run-dir to keep them)");
        }
        checkpoints.removeIncomplete();
        JsonNode resolved = ConfigLoader.toTree(cfg);
        Files.writeString(runDir.resolve("config.json"), ConfigLoader.json().writeValueAsString(resolved));

        // ---- engine, device and data
        Engine engine = Engine.getEngine("PyTorch");
        RunRecord.append(runDir, resolved, resumed == null ? 0 : resumed.step(), resumeFrom, engine);
        if (cfg.threads() > 0) {
            JniUtils.setNumThreads(cfg.threads());
        }
        Device device = engine.getGpuCount() > 0 ? Device.gpu() : Device.cpu();
        DataType computeType = computeType(cfg.computeDtype(), device);
        Packer packer = new Packer(cfg.data().seqLen(), cfg.data().overlong());
        Datasets data = Datasets.load(cfg);
        Packer.Stats stats = packer.stats(data.train());
        console.printf(Locale.ROOT, "data: %d train samples (%d split, %d dropped as too long, %d without loss), %d eval samples, %d loss tokens%n",
                stats.samples(), stats.splitSamples(), stats.droppedOverlong(), stats.droppedNoLoss(), data.eval().size(), stats.lossTargets());
        if (stats.pieces() == 0) {
            throw new TrainException("no trainable samples: every sample was dropped (see the counts above; raise data.seq_len or set data.overlong=split)");
        }
        String fingerprint = fingerprint(data.train());
        if (resumed != null && !resumed.dataFingerprint().equals(fingerprint)) {
            throw new TrainException("the training data in " + cfg.data().dirs() + " is not the data " + resumeFrom
                    + " was trained on (fingerprint " + fingerprint + " vs " + resumed.dataFingerprint()
                    + "), so its data cursor would point at other samples; resume with the original data, or start over with --resume none or another --run-dir");
        }

        try (NDManager manager = NDManager.newBaseManager(device, engine.getEngineName());
             SignalFlag signals = SignalFlag.install(console)) {
            // ---- model (from the checkpoint when resuming)
            LlamaModel model = loadModel(cfg, resumeFrom, manager);
            LlamaConfig arch = model.config();
            requireVocabulary(data.train(), arch);
            model.setTrainable(true);
            console.printf(Locale.ROOT, "model: %s, %,d parameters, compute %s on %s%n", ConfigEnums.name(cfg.model().init()),
                    arch.parameterCount(), computeType, device);

            // ---- optimizer and schedule
            AdamW.Settings adamwSettings = new AdamW.Settings(cfg.optimizer().beta1(), cfg.optimizer().beta2(),
                    cfg.optimizer().eps(), cfg.optimizer().weightDecay());
            AdamW adamw = resumeFrom == null ? new AdamW(adamwSettings, model.parameters(), manager)
                    : OptimizerState.restore(resumeFrom, adamwSettings, model.parameters(), manager);
            int microBatch = cfg.batch().microBatch();
            int gradAccum = cfg.batch().gradAccum();
            boolean bySteps = cfg.maxSteps() > 0;
            DataStream stream = new DataStream(data.train(), packer, cfg.seed(), cfg.data().shuffle(),
                    bySteps ? Long.MAX_VALUE : cfg.epochs());
            long totalSteps = bySteps ? cfg.maxSteps() : ceilDiv(stream.countRemainingRows(), (long) microBatch * gradAccum);
            long warmup = cfg.schedule().warmupSteps() >= 0 ? cfg.schedule().warmupSteps()
                    : Math.round(cfg.schedule().warmupRatio() * totalSteps);
            LrSchedule schedule = new LrSchedule(cfg.schedule().kind(),
                    cfg.optimizer().lr(), warmup, totalSteps, cfg.schedule().minLrRatio());
            console.printf(Locale.ROOT, "plan: %d steps of %d x %d rows of %d tokens (%d rows per epoch), warm-up %d, %s schedule%n",
                    totalSteps, gradAccum, microBatch, packer.seqLen(), stream.rowsPerEpoch(), warmup, ConfigEnums.name(cfg.schedule().kind()));

            // ---- resume position
            Counters counters = new Counters();
            if (resumed != null) {
                stream.seek(resumed.cursor());
                counters.restore(resumed);
            }
            long startStep = counters.step;
            Path lastCheckpoint = resumeFrom;
            Path metricsFile = runDir.resolve("metrics.jsonl");
            Map<Long, Double> losses = new LinkedHashMap<>();
            StopReason stopReason = StopReason.COMPLETED;
            Progress progress = new Progress(console, totalSteps);
            long runStart = System.nanoTime();
            String configHash = sha256(ConfigLoader.json().writeValueAsBytes(resolved));

            try (MetricsLog metrics = new MetricsLog(metricsFile, startStep)) {
                while (counters.step < totalSteps) {
                    if (options.stopAtStep() != null && counters.step >= options.stopAtStep()) {
                        stopReason = StopReason.STOP_AT_STEP;
                        break;
                    }
                    // ---- one optimizer step: global batch -> forward/backward -> clip, NaN check, AdamW, zero grads
                    List<MicroBatch> micro = nextGlobalBatch(stream, packer.seqLen(), microBatch, gradAccum);
                    if (micro.isEmpty()) {
                        stopReason = StopReason.DATA_EXHAUSTED;
                        break;
                    }
                    long lossTokens = micro.stream().mapToLong(MicroBatch::lossTokens).sum();
                    long tokens = micro.stream().mapToLong(MicroBatch::tokens).sum();
                    long stepStart = System.nanoTime();

                    double loss = accumulateGradients(engine, model, micro, lossTokens, computeType,
                            cfg.model().chunkTokens(), manager) / lossTokens;
                    double lr = schedule.lr(counters.step);
                    Update update = clipAndStep(model, adamw, loss, lr, cfg.clip().maxNorm(), manager);
                    double gradNorm = update.gradNorm();
                    boolean finite = update.finite();
                    counters.advance(micro, tokens, lossTokens, finite);
                    if (!finite) {
                        console.printf(Locale.ROOT, "warning: step %d has a non-finite %s (loss %s, grad_norm %s); skipped (%d in a row, limit %d)%n",
                                counters.step, Double.isFinite(loss) ? "gradient" : "loss", loss, gradNorm,
                                counters.consecutiveNonFinite, cfg.nan().maxConsecutive());
                    }
                    losses.put(counters.step, finite ? loss : Double.NaN);
                    hook.afterStep(counters.step, model);

                    // ---- metrics
                    double stepSeconds = (System.nanoTime() - stepStart) / 1e9;
                    double elapsed = (System.nanoTime() - runStart) / 1e9;
                    ObjectNode line = MetricsLog.line("train", counters.step);
                    line.put("loss", loss).put("lr", lr).put("grad_norm", gradNorm)
                            .put("tokens_per_s", tokens / stepSeconds).put("elapsed_s", elapsed)
                            .put("loss_tokens", lossTokens).put("epoch", stream.cursor().epoch())
                            .put("skipped", !finite).put("rss_bytes", MetricsLog.rssBytes())
                            .put("heap_bytes", Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory())
                            .put("live_arrays", manager.getManagedArrays().size());
                    metrics.write(line);
                    if (counters.step % cfg.log().every() == 0 || counters.step == totalSteps) {
                        progress.step(counters.step, loss, lr, gradNorm, tokens / stepSeconds, counters.step - startStep, elapsed);
                    }
                    if (counters.consecutiveNonFinite >= cfg.nan().maxConsecutive()) {
                        stopReason = StopReason.NON_FINITE;
                        console.println("error: " + counters.consecutiveNonFinite + " non-finite steps in a row; stopping. The last good checkpoint is "
                                + (lastCheckpoint == null ? "(none)" : lastCheckpoint) + "; lower optimizer.lr or check the data, then resume from it");
                        break;
                    }

                    // ---- eval
                    if (cfg.eval().every() > 0 && counters.step % cfg.eval().every() == 0 && !data.eval().isEmpty()) {
                        double evalLoss = evaluate(model, data.eval(), packer, cfg, computeType, manager);
                        metrics.write(MetricsLog.line("eval", counters.step).put("loss", evalLoss));
                        console.printf(Locale.ROOT, "eval step %d: loss %.4f%n", counters.step, evalLoss);
                    }

                    // ---- checkpoint and signal check
                    boolean stop = signals.raised() != null
                            || (options.stopAtStep() != null && counters.step >= options.stopAtStep());
                    boolean due = cfg.checkpoint().every() > 0 && counters.step % cfg.checkpoint().every() == 0;
                    if (due || stop || counters.step == totalSteps) {
                        lastCheckpoint = save(checkpoints, counters, stream.cursor(), model, adamw, cfg, resolved,
                                configHash, fingerprint);
                        console.println("checkpoint: " + lastCheckpoint);
                    }
                    if (stop) {
                        stopReason = signals.raised() != null ? StopReason.ofSignal(signals.raised()) : StopReason.STOP_AT_STEP;
                        break;
                    }
                }
            }
            Path plot = runDir.resolve("loss.png");
            LossPlot.write(metricsFile, plot);
            console.println("run " + runDir + ": " + stopReason + " at step " + counters.step + "/" + totalSteps
                    + "; metrics " + metricsFile + ", plot " + plot + ", checkpoint " + lastCheckpoint);
            return new Result(runDir, startStep, counters.step, totalSteps, losses, lastCheckpoint, stopReason, metricsFile, plot);
        }
    }

    /** The next global batch: up to {@code gradAccum} micro-batches of {@code microBatch} rows; empty when the data ran out. */
    private static List<MicroBatch> nextGlobalBatch(DataStream stream, int seqLen, int microBatch, int gradAccum) {
        List<MicroBatch> micro = new ArrayList<>();
        for (int a = 0; a < gradAccum; a++) {
            List<Packer.PackedRow> rows = new ArrayList<>();
            Packer.PackedRow row;
            while (rows.size() < microBatch && (row = stream.next()) != null) {
                rows.add(row);
            }
            if (rows.isEmpty()) break;
            micro.add(MicroBatch.of(rows, microBatch, seqLen));
        }
        return micro;
    }

    /**
     * Forward and backward over each micro-batch, accumulating into the weights' gradients; returns the summed NLL.
     * Each micro-batch's loss is divided by the GLOBAL batch's loss-token count, so the accumulated gradient is
     * that of the mean over all loss tokens of the global batch, however it is split.
     */
    private static double accumulateGradients(Engine engine, LlamaModel model, List<MicroBatch> micro, long lossTokens,
                                              DataType computeType, int chunkTokens, NDManager manager) {
        double nllSum = 0;
        try (GradientCollector collector = engine.newGradientCollector()) {
            for (MicroBatch mb : micro) {
                try (NDManager scope = manager.newSubManager()) {
                    MicroBatch.Arrays b = mb.toNDArrays(scope);
                    NDArray hidden = model.forward(b.inputIds(), b.positions(), b.segmentIds(), computeType);
                    NDArray nll = MaskedCrossEntropy.sum(model, hidden, b.targets(), b.lossMask(), chunkTokens);
                    NDArray globalTokens = scope.create((float) lossTokens); // an array, not a Java scalar, inside the graph
                    collector.backward(nll.div(globalTokens));
                    nllSum += nll.getFloat();
                }
            }
        }
        return nllSum;
    }

    /** What {@link #clipAndStep} did: the pre-clip gradient norm, and whether the step was applied (finite). */
    private record Update(double gradNorm, boolean finite) {}

    /**
     * Clips the accumulated gradients, applies AdamW only when loss and gradient norm are finite (a skipped step
     * leaves weights and moments untouched), then zeroes the gradients either way.
     */
    private static Update clipAndStep(LlamaModel model, AdamW adamw, double loss, double lr, double maxNorm,
                                      NDManager manager) {
        Map<String, NDArray> params = model.parameters();
        try (NDManager gradScope = manager.newSubManager()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> p : params.entrySet()) {
                NDArray g = p.getValue().getGradient();
                g.attach(gradScope);
                grads.put(p.getKey(), g);
            }
            double gradNorm = GradClip.clip(List.copyOf(grads.values()), maxNorm);
            boolean finite = Double.isFinite(loss) && Double.isFinite(gradNorm);
            if (finite) {
                adamw.update(params, grads, lr);
            }
            model.zeroGradients();
            return new Update(gradNorm, finite);
        }
    }

    /** Mean loss per loss token over the first {@code eval.max_rows} packed rows of the eval samples (no shuffle, no gradients). */
    static double evaluate(LlamaModel model, List<Sample> samples, Packer packer, TrainConfig cfg, DataType computeType,
                           NDManager manager) {
        DataStream stream = new DataStream(samples, packer, cfg.seed(), false, 1);
        double nll = 0;
        long lossTokens = 0;
        int rowsLeft = cfg.eval().maxRows();
        while (rowsLeft > 0) {
            List<Packer.PackedRow> rows = new ArrayList<>();
            Packer.PackedRow row;
            while (rows.size() < Math.min(cfg.batch().microBatch(), rowsLeft) && (row = stream.next()) != null) {
                rows.add(row);
            }
            if (rows.isEmpty()) break;
            rowsLeft -= rows.size();
            MicroBatch mb = MicroBatch.of(rows, rows.size(), packer.seqLen());
            try (NDManager scope = manager.newSubManager()) {
                MicroBatch.Arrays b = mb.toNDArrays(scope);
                NDArray hidden = model.forward(b.inputIds(), b.positions(), b.segmentIds(), computeType);
                nll += MaskedCrossEntropy.sum(model, hidden, b.targets(), b.lossMask(), cfg.model().chunkTokens()).getFloat();
            }
            lossTokens += mb.lossTokens();
        }
        return nll / Math.max(1, lossTokens);
    }

    private static Path save(CheckpointManager checkpoints, Counters c, DataCursor cursor, LlamaModel model, AdamW adamw,
                             TrainConfig cfg, JsonNode resolved, String configHash, String fingerprint) throws IOException {
        Path tokenizerDir = tokenizerDir(cfg);
        DataType saveType = cfg.checkpoint().saveDtype().dataType();
        TrainerState state = new TrainerState(c.step, cursor.epoch(), cursor, c.rowsSeen, c.tokensSeen, c.lossTokensSeen,
                cfg.seed(), 1, c.consecutiveNonFinite, fingerprint, configHash, resolved);
        return checkpoints.save(c.step, (dir, files) -> {
            HfCheckpoint.write(files, dir.resolve("model"), model.config(), model.parameters(),
                    cfg.checkpoint().maxShardBytes(), saveType, tokenizerDir);
            OptimizerState.write(files, dir, adamw);
            state.write(files, dir);
        });
    }

    private static Path resumeTarget(String resume, CheckpointManager checkpoints) throws IOException {
        if ("none".equals(resume)) {
            return null;
        }
        if (resume == null) {
            return checkpoints.latestComplete().orElse(null);
        }
        Path dir = Path.of(resume);
        if (!CheckpointManager.isComplete(dir)) {
            throw new TrainException("--resume " + resume + ": not a complete checkpoint (no " + CheckpointManager.MARKER
                    + " marker); pass a checkpoints/step_NNNNNNNN folder, or --resume none");
        }
        return dir;
    }

    private static LlamaModel loadModel(TrainConfig cfg, Path resumeFrom, NDManager manager) throws IOException {
        if (resumeFrom != null) {
            return HfCheckpoint.loadModel(resumeFrom.resolve("model"), manager);
        }
        return switch (cfg.model().init()) {
            case HF -> {
                Path dir = Path.of(cfg.model().hfDir());
                if (!Files.isRegularFile(dir.resolve(HfCheckpoint.CONFIG_FILE))) {
                    throw new TrainException("model.hf_dir " + dir + ": no config.json (expected an HF checkpoint folder)");
                }
                yield HfCheckpoint.loadModel(dir, manager);
            }
            case TINY -> LlamaModel.create(LlamaConfig.tiny(), manager, cfg.model().seed());
            case LLAMA2_7B -> LlamaModel.create(LlamaConfig.llama2_7b(), manager, cfg.model().seed());
            case LLAMA2_13B -> LlamaModel.create(LlamaConfig.llama2_13b(), manager, cfg.model().seed());
            case LLAMA2_70B -> LlamaModel.create(LlamaConfig.llama2_70b(), manager, cfg.model().seed());
        };
    }

    private static Path tokenizerDir(TrainConfig cfg) {
        if (!cfg.model().tokenizerDir().isBlank()) {
            return Path.of(cfg.model().tokenizerDir());
        }
        return cfg.model().init() == TrainConfig.Init.HF ? Path.of(cfg.model().hfDir()) : null;
    }

    private static DataType computeType(TrainConfig.Dtype dtype, Device device) {
        DataType type = dtype.dataType();
        if (type == DataType.BFLOAT16 && !device.isGpu()) {
            throw new TrainException("compute_dtype bfloat16 crashes DJL's PyTorch engine on CPU; use float32 on CPU (bfloat16 is for GPUs)");
        }
        return type;
    }

    private static void requireVocabulary(List<Sample> samples, LlamaConfig arch) {
        for (Sample s : samples) {
            for (int id : s.inputIds()) {
                if (id < 0 || id >= arch.vocabSize()) {
                    throw new DataException("sample " + s.id() + ": token id " + id + " is outside the model's vocabulary of "
                            + arch.vocabSize() + " (was the data tokenized for another model?)");
                }
            }
        }
    }

    /** SHA-256 over ids and tokens of the training samples, in order: equal iff the cursor means the same samples. */
    static String fingerprint(List<Sample> samples) {
        MessageDigest digest = sha256();
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 16);
        for (Sample s : samples) {
            digest.update(s.id().getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < s.length(); i++) {
                if (buf.remaining() < 8) {
                    digest.update(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putInt(s.inputIds()[i]).putInt(s.lossMask()[i]);
            }
            digest.update(buf.array(), 0, buf.position());
            buf.clear();
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** Progress counters saved in {@code trainer_state.json}. */
    private static final class Counters {
        long step, rowsSeen, tokensSeen, lossTokensSeen;
        int consecutiveNonFinite;

        void restore(TrainerState s) {
            step = s.step();
            rowsSeen = s.rowsSeen();
            tokensSeen = s.tokensSeen();
            lossTokensSeen = s.lossTokensSeen();
            consecutiveNonFinite = s.consecutiveNonFinite();
        }

        void advance(List<MicroBatch> micro, long tokens, long lossTokens, boolean finite) {
            step++;
            rowsSeen += micro.stream().mapToLong(MicroBatch::realRows).sum();
            tokensSeen += tokens;
            lossTokensSeen += lossTokens;
            consecutiveNonFinite = finite ? 0 : consecutiveNonFinite + 1;
        }
    }

    /** SIGTERM/SIGINT set a flag; the loop finishes its step, checkpoints and exits. Handlers are restored on close. */
    private static final class SignalFlag implements AutoCloseable {
        private final AtomicReference<String> raised = new AtomicReference<>();
        private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();

        static SignalFlag install(PrintStream console) {
            SignalFlag flag = new SignalFlag();
            for (String name : List.of("TERM", "INT")) {
                Signal signal = new Signal(name);
                flag.previous.put(signal, Signal.handle(signal, s -> {
                    if (flag.raised.compareAndSet(null, name)) {
                        console.println("received SIG" + name + ": finishing this step, then checkpoint and exit");
                    }
                }));
            }
            return flag;
        }

        String raised() {
            return raised.get();
        }

        @Override
        public void close() {
            previous.forEach(Signal::handle);
        }
    }
}
