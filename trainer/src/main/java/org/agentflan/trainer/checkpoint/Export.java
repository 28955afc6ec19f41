package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.agentflan.trainer.model.LlamaModel;

/**
 * {@code agentflan export}: an HF folder for serving, in a chosen dtype, from a training checkpoint's fp32 master
 * weights ({@link MasterWeights#exactDir}) or from any HF model folder. The folder gets the weights as safetensors
 * (one file, or shards and their index), {@code config.json} with the new {@code torch_dtype}, the source's
 * {@code generation_config.json} and its tokenizer files. It is written into a hidden temporary folder beside
 * {@code out} and renamed into place when complete, so {@code out} is either the whole export or absent.
 */
public final class Export {
    /**
     * What was exported: {@code weights} is the folder the values came from, {@code weightsDtype} the dtype they were
     * stored in there ("float32" for a checkpoint with masters).
     */
    public record Result(Path out, Path weights, String weightsDtype, DataType dtype) {}

    private Export() {}

    /**
     * Exports {@code source} (a checkpoint folder {@code step_N/}, or an HF model folder) as {@code dtype} into
     * {@code out}, which must not exist yet, in shards of at most {@code maxShardBytes}.
     */
    public static Result run(Path source, DataType dtype, Path out, long maxShardBytes) throws IOException {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16 && dtype != DataType.BFLOAT16) {
            throw new IllegalArgumentException("export dtype must be float32, float16 or bfloat16, got " + dtype);
        }
        Path weights;
        Path extras; // tokenizer files and generation_config.json come from here
        if (Files.isDirectory(source.resolve(MasterWeights.MODEL))) {
            if (!CheckpointManager.isComplete(source)) {
                throw new IllegalArgumentException(source + " is not a complete checkpoint (no "
                        + CheckpointManager.MARKER + " marker: its save was interrupted); export another checkpoint");
            }
            weights = MasterWeights.exactDir(source);
            extras = source.resolve(MasterWeights.MODEL);
        } else if (Files.isRegularFile(source.resolve(HfCheckpoint.CONFIG_FILE))) {
            weights = source;
            extras = source;
        } else {
            throw new IllegalArgumentException(source + " is neither a checkpoint folder (with model/) nor an HF model"
                    + " folder (with config.json)");
        }
        if (Files.exists(out)) {
            throw new IllegalArgumentException("--out " + out + " already exists; choose a new folder (export never"
                    + " overwrites)");
        }
        String weightsDtype = HfCheckpoint.verify(weights).torchDtype();
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temp = parent.resolve(".tmp-" + out.getFileName() + "-" + ProcessHandle.current().pid());
        CheckpointManager.deleteTree(temp);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = HfCheckpoint.loadModel(weights, manager)) {
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, temp, model.config(), model.parameters(), maxShardBytes,
                    dtype, extras);
            Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE);
            AtomicFileWriter.syncDirectory(parent);
        } catch (IOException | RuntimeException e) {
            try {
                CheckpointManager.deleteTree(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return new Result(out, weights, weightsDtype, dtype);
    }
}
