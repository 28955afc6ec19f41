package org.agentflan.trainer;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.config.ConfigEnums;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.MasterWeights;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;

/**
 * Where a run's weights come from: the resumed checkpoint's fp32 masters ({@link MasterWeights#exactDir}), an HF folder ({@code model.init: hf}),
 * or a named architecture with random weights. Its architecture is known before any weight is allocated, so what the
 * run asks of it is checked first: rows no longer than {@code max_position_embeddings}, token ids inside the
 * vocabulary.
 *
 * @param config the architecture
 * @param dir the HF folder the weights load from, or null for random init
 * @param source what the architecture came from, for messages
 */
record StartingModel(LlamaConfig config, Path dir, String source) {

    static StartingModel of(TrainConfig cfg, Resume resume) {
        if (!resume.isFresh()) {
            return fromFolder(MasterWeights.exactDir(resume.from()), "checkpoint " + resume.from());
        }
        return switch (cfg.model().init()) {
            case HF -> fromFolder(Path.of(cfg.model().hfDir()), "model.hf_dir");
            case TINY -> random(LlamaConfig.tiny(), cfg);
            case LLAMA2_7B -> random(LlamaConfig.llama2_7b(), cfg);
            case LLAMA2_13B -> random(LlamaConfig.llama2_13b(), cfg);
            case LLAMA2_70B -> random(LlamaConfig.llama2_70b(), cfg);
        };
    }

    private static StartingModel fromFolder(Path dir, String what) {
        Path configFile = dir.resolve(HfCheckpoint.CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new TrainException(what + " " + dir + ": no " + HfCheckpoint.CONFIG_FILE
                    + " (expected an HF checkpoint folder)");
        }
        try {
            return new StartingModel(LlamaConfig.read(configFile), dir, what + " (" + configFile + ")");
        } catch (IllegalArgumentException e) {
            throw new TrainException(e.getMessage().replaceAll("\\s*\\R\\s*", " "));
        }
    }

    private static StartingModel random(LlamaConfig config, TrainConfig cfg) {
        return new StartingModel(config, null, "model.init " + ConfigEnums.name(cfg.model().init()));
    }

    /** A row of {@code seqLen} tokens needs positions up to {@code seqLen - 1}; RoPE past the trained range is refused. */
    void requireSeqLen(int seqLen) {
        if (seqLen > config.maxPositionEmbeddings()) {
            throw new TrainException("data.seq_len " + seqLen + " is beyond the model's max_position_embeddings "
                    + config.maxPositionEmbeddings() + " (" + source + "): positions past it were never trained and"
                    + " RoPE scaling is not implemented; set data.seq_len to at most " + config.maxPositionEmbeddings());
        }
    }

    /**
     * Every token id of {@code samples} must be a row of the embedding (data tokenized for another model is not):
     * checked here, once, on the host, so that the model's forward pass never reads its input back from the device.
     */
    void requireVocabulary(List<Sample> samples) {
        for (Sample s : samples) {
            for (int id : s.inputIds()) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new DataException("sample " + s.id() + ": token id " + id + " is outside the model's vocabulary of "
                            + config.vocabSize() + " (was the data tokenized for another model?)");
                }
            }
        }
    }

    /** The weights: read from {@link #dir}, or random from {@code model.seed}. */
    LlamaModel load(TrainConfig cfg, NDManager manager) throws IOException {
        return dir != null ? HfCheckpoint.loadModel(dir, manager) : LlamaModel.create(config, manager, cfg.model().seed());
    }
}
