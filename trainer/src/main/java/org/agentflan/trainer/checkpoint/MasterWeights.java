package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.agentflan.trainer.model.LlamaConfig;

/**
 * The weights of a training checkpoint: {@code model/}, an HF folder in {@code checkpoint.save_dtype} for other tools,
 * and the fp32 master weights an exact resume needs. When {@code save_dtype} is float32, {@code model/} holds the
 * masters themselves and nothing is written twice; otherwise {@code master/} holds them as well, as an fp32 HF folder
 * (weights, {@code config.json}, {@code generation_config.json}; no tokenizer), which the same loader reads. A resume
 * and {@code export} read {@link #exactDir}: {@code master/} when present, else {@code model/}.
 */
public final class MasterWeights {
    public static final String MODEL = "model";
    public static final String MASTER = "master";

    private MasterWeights() {}

    /**
     * Writes {@code model/} as {@code saveType} (tokenizer files from {@code tokenizerDirOrNull}) and, unless that is
     * FLOAT32, {@code master/} as FLOAT32, both in shards of at most {@code maxShardBytes}.
     */
    public static void write(AtomicFileWriter files, Path checkpoint, LlamaConfig config, Map<String, NDArray> weights,
                             long maxShardBytes, DataType saveType, Path tokenizerDirOrNull) throws IOException {
        HfCheckpoint.write(files, checkpoint.resolve(MODEL), config, weights, maxShardBytes, saveType, tokenizerDirOrNull);
        if (saveType != DataType.FLOAT32) {
            HfCheckpoint.write(files, checkpoint.resolve(MASTER), config, weights, maxShardBytes, DataType.FLOAT32, null);
        }
    }

    /** The folder holding the checkpoint's fp32 weights: {@code master/} when present, else {@code model/}. */
    public static Path exactDir(Path checkpoint) {
        Path master = checkpoint.resolve(MASTER);
        return Files.isDirectory(master) ? master : checkpoint.resolve(MODEL);
    }

    /**
     * Checks {@code model/} and, when present, {@code master/} short of reading weights ({@link HfCheckpoint#verify});
     * returns the {@code torch_dtype} of the weights {@link #exactDir} holds ("float32" unless the checkpoint was written
     * without masters in 16 bits, before they were kept).
     */
    public static String verify(Path checkpoint) throws IOException {
        LlamaConfig model = HfCheckpoint.verify(checkpoint.resolve(MODEL));
        Path master = checkpoint.resolve(MASTER);
        return Files.isDirectory(master) ? HfCheckpoint.verify(master).torchDtype() : model.torchDtype();
    }
}
