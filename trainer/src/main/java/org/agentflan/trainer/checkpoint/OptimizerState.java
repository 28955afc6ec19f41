package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentflan.trainer.optim.AdamW;

/**
 * AdamW's state in a checkpoint: {@code optimizer.safetensors} (fp32 {@code exp_avg.<param>} and
 * {@code exp_avg_sq.<param>}, loadable with the safetensors library) and {@code optimizer.json} (step and
 * hyper-parameters, for people and for checks).
 */
public final class OptimizerState {
    public static final String TENSORS = "optimizer.safetensors";
    public static final String META = "optimizer.json";

    private OptimizerState() {}

    /**
     * Checks {@code optimizer.safetensors} without reading the moments: a valid header that covers the file exactly,
     * and the step in its metadata; a truncated, garbled or missing file fails naming itself.
     */
    public static void verify(Path dir) throws IOException {
        Path file = dir.resolve(TENSORS);
        if (!Files.isRegularFile(file)) {
            throw CheckpointFormatException.of(file, "missing");
        }
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            String step = reader.metadata().get("step");
            if (step == null || !step.matches("[0-9]+")) {
                throw CheckpointFormatException.of(file, "metadata has no step");
            }
        }
    }

    /** Writes both files through {@code files}; returns the bytes of the tensor file. */
    public static long write(AtomicFileWriter files, Path dir, AdamW adamw) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", Long.toString(adamw.step()));
        long bytes = SafetensorsWriter.write(files, dir.resolve(TENSORS),
                SafetensorsWriter.entries(adamw.stateTensors(), DataType.FLOAT32), meta);
        AdamW.Settings s = adamw.settings();
        String json = "{\n  \"type\": \"adamw\",\n  \"step\": " + adamw.step() + ",\n  \"beta1\": " + s.beta1()
                + ",\n  \"beta2\": " + s.beta2() + ",\n  \"eps\": " + s.eps() + ",\n  \"weight_decay\": " + s.weightDecay()
                + "\n}\n";
        files.writeBytes(dir.resolve(META), json.getBytes(StandardCharsets.UTF_8));
        return bytes;
    }

    /**
     * A new AdamW over {@code params} resumed from the saved state: each moment is allocated once and the saved
     * values are read straight into it (what resuming a run uses: no zeroing, no second copy).
     */
    public static AdamW restore(Path dir, AdamW.Settings settings, Map<String, NDArray> params, NDManager manager)
            throws IOException {
        Path file = dir.resolve(TENSORS);
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            String step = reader.metadata().get("step");
            if (step == null) {
                throw new IOException(file + ": metadata has no 'step'");
            }
            Map<String, Shape> shapes = new LinkedHashMap<>();
            reader.tensors().forEach((name, info) -> shapes.put(name, info.shape()));
            try {
                return AdamW.restore(settings, params, manager, shapes, reader::readInto, Long.parseLong(step));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
        }
    }
}
