package org.agentflan.trainer.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.agentflan.trainer.model.ActivationOptions;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;
import org.agentflan.trainer.model.TrainingPass;

/**
 * GPU benchmark (not a test; for {@code scripts/bench-gpu-layers.sh}): training steps (forward and backward, no
 * optimizer) of Llama-2-7B-shaped decoder layers (hidden 4096, intermediate 11008, 32 heads, vocabulary 32000) on one
 * CUDA GPU, {@code batch x seq} tokens (default 1 x 4096), bf16 compute, with recompute and attention blocks as in the
 * 7B recipe. Prints tokens/s per GPU and model FLOPs utilisation (MFU): model FLOPs per token {@code 6 x parameters +
 * 6 x layers x seq x hidden} (the causal attention's matmuls, forward and backward; the recompute's extra forward is not
 * model FLOPs), times tokens/s, over the GPU's peak ({@code peak_tflops}, dense bf16: 989 for an H100 SXM, 312 for
 * an A100). Arguments {@code key=value}: layers (default 4), batch, seq, recompute (0/1), block, warmup, steps,
 * peak_tflops.
 */
public final class GpuLayerBenchmark {
    private GpuLayerBenchmark() {
    }

    public static void main(String[] args) {
        Map<String, Double> opt = new HashMap<>(Map.of("layers", 4.0, "batch", 1.0, "seq", 4096.0, "recompute", 1.0,
                "block", 512.0, "warmup", 2.0, "steps", 10.0, "peak_tflops", 989.0));
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            if (kv.length != 2 || !opt.containsKey(kv[0])) {
                throw new IllegalArgumentException("unknown argument '" + arg + "'; expected key=value with key in " + opt.keySet());
            }
            opt.put(kv[0], Double.parseDouble(kv[1]));
        }
        Engine engine = Engine.getEngine("PyTorch");
        if (engine.getGpuCount() == 0) {
            throw new IllegalStateException("GpuLayerBenchmark needs a CUDA GPU and DJL's CUDA libtorch; this machine has none");
        }
        int layers = opt.get("layers").intValue();
        int b = opt.get("batch").intValue();
        int t = opt.get("seq").intValue();
        LlamaConfig seven = LlamaConfig.llama2_7b();
        LlamaConfig config = new LlamaConfig(seven.vocabSize(), seven.hiddenSize(), seven.intermediateSize(), layers,
                seven.numAttentionHeads(), seven.numKeyValueHeads(), seven.rmsNormEps(), seven.ropeTheta(), t, false,
                1, 2, null, null, null, null);
        long tokens = (long) b * t;
        double flopsPerToken = 6.0 * config.parameterCount() + 6.0 * layers * t * config.hiddenSize();
        List<Double> seconds = new ArrayList<>();
        try (NDManager root = NDManager.newBaseManager(Device.gpu(0), "PyTorch");
             LlamaModel model = LlamaModel.create(config, root, 0)) {
            model.setTrainable(true);
            model.setActivationOptions(new ActivationOptions(opt.get("recompute") > 0, opt.get("block").intValue()));
            for (int step = 0; step < opt.get("warmup") + opt.get("steps"); step++) {
                try (NDManager batch = root.newSubManager()) {
                    NDArray ids = batch.randomInteger(0, config.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray targets = batch.randomInteger(0, config.vocabSize(), new Shape(b, t), DataType.INT64);
                    NDArray positions = batch.arange(0, t, 1, DataType.INT64).reshape(1, t).repeat(0, b);
                    NDArray segments = batch.ones(new Shape(b, t), DataType.INT32);
                    NDArray mask = batch.ones(new Shape(b, t), DataType.INT32);
                    NDArray count = batch.create((float) tokens);
                    long start = System.nanoTime();
                    try (GradientCollector collector = engine.newGradientCollector()) {
                        TrainingPass pass = model.trainingForward(ids, positions, segments, DataType.BFLOAT16);
                        NDArray loss = MaskedCrossEntropy.sum(model, pass.hidden(), targets, mask, 2048).div(count);
                        pass.backward(loss);
                        loss.getFloat(); // waits for the GPU
                    }
                    if (step >= opt.get("warmup")) {
                        seconds.add((System.nanoTime() - start) / 1e9);
                    }
                }
                model.zeroGradients();
            }
        }
        Collections.sort(seconds);
        double median = seconds.get(seconds.size() / 2);
        double tokensPerSecond = tokens / median;
        double mfu = tokensPerSecond * flopsPerToken / (opt.get("peak_tflops") * 1e12);
        System.out.printf(Locale.ROOT, "Llama-2-7B-shaped, %d layers, %d x %d tokens, bf16, recompute %s, attention_block %d:"
                        + " median step %.3f s, %.0f tokens/s per GPU, MFU %.1f%% of %.0f TFLOPS%n", layers, b, t,
                opt.get("recompute") > 0, opt.get("block").intValue(), median, tokensPerSecond, 100 * mfu,
                opt.get("peak_tflops"));
    }
}
