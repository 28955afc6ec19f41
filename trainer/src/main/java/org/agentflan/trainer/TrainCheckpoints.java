package org.agentflan.trainer;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.data.DataCursor;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.optim.AdamW;

/**
 * The checkpoints a training run saves: when one is due, and what one holds -- the weights as an HF model folder
 * (tokenizer copied in, so {@code model/} loads on its own), the AdamW moments, and the trainer state (counters, data
 * cursor, and the config and data they belong to). That is everything an exact resume needs; {@link CheckpointManager}
 * makes each save all-or-nothing.
 */
final class TrainCheckpoints {
    private final CheckpointManager checkpoints;
    private final TrainConfig cfg;
    private final JsonNode resolvedConfig;
    private final String configHash;
    private final String dataFingerprint;
    private final Path tokenizerDir;

    /** @param tokenizerDir tokenizer files to copy into each {@code model/} folder, or null for none */
    TrainCheckpoints(CheckpointManager checkpoints, TrainConfig cfg, JsonNode resolvedConfig, String dataFingerprint,
                     Path tokenizerDir) throws IOException {
        this.checkpoints = checkpoints;
        this.cfg = cfg;
        this.resolvedConfig = resolvedConfig;
        this.configHash = Fingerprint.ofBytes(ConfigLoader.json().writeValueAsBytes(resolvedConfig));
        this.dataFingerprint = dataFingerprint;
        this.tokenizerDir = tokenizerDir;
    }

    /**
     * The trainer state of checkpoint {@code dir}, after checking every file of it short of reading the weights and
     * moments ({@link HfCheckpoint#verify}, {@link OptimizerState#verify}); a damaged file fails naming itself.
     */
    static TrainerState readIntact(Path dir) throws IOException {
        TrainerState state = TrainerState.read(dir);
        HfCheckpoint.verify(dir.resolve("model"));
        OptimizerState.verify(dir);
        return state;
    }

    /** Every {@code checkpoint.every} steps (0: never on cadence) and always after the last step. */
    boolean due(long step, long totalSteps) {
        return (cfg.checkpoint().every() > 0 && step % cfg.checkpoint().every() == 0) || step == totalSteps;
    }

    /** Saves the run as of the step {@code counters} just counted; returns the checkpoint folder. */
    Path save(StepCounters counters, DataCursor cursor, LlamaModel model, AdamW adamw) throws IOException {
        DataType saveType = cfg.checkpoint().saveDtype().dataType();
        TrainerState state = new TrainerState(counters.step(), cursor.epoch(), cursor, counters.rowsSeen(),
                counters.tokensSeen(), counters.lossTokensSeen(), cfg.seed(), 1, counters.consecutiveNonFinite(),
                dataFingerprint, configHash, resolvedConfig);
        try {
            return checkpoints.save(counters.step(), (dir, files) -> {
                HfCheckpoint.write(files, dir.resolve("model"), model.config(), model.parameters(),
                        cfg.checkpoint().maxShardBytes(), saveType, tokenizerDir);
                OptimizerState.write(files, dir, adamw);
                state.write(files, dir);
            });
        } catch (IOException e) {
            // A full disk reports "No space left on device" without a path: say where the save went.
            throw new IOException("cannot save checkpoint " + counters.step() + " in " + checkpoints.root() + " ("
                    + e.getMessage() + "); the previous checkpoint is intact", e);
        }
    }
}
