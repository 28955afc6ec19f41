package org.agentflan.trainer;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.checkpoint.MasterWeights;
import org.agentflan.trainer.checkpoint.OptimizerState;
import org.agentflan.trainer.checkpoint.TrainerState;
import org.agentflan.trainer.data.DataCursor;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.LossScaler;

/**
 * The checkpoints a training run saves: when one is due, and what one holds -- the weights as an HF model folder in
 * {@code checkpoint.save_dtype} (tokenizer copied in, so {@code model/} loads on its own) and the fp32 master weights
 * ({@link MasterWeights}), the AdamW moments, and the trainer state (counters, data cursor, fp16 loss scale, and the
 * config and data they belong to). That is everything an exact resume needs; {@link CheckpointManager}
 * makes each save all-or-nothing. In a job of several ranks, rank 0 alone writes (every rank holds the same weights
 * and moments) while the others wait at a barrier, so that no rank goes on before the checkpoint is complete.
 */
final class TrainCheckpoints {
    private final CheckpointManager checkpoints;
    private final TrainConfig cfg;
    private final JsonNode resolvedConfig;
    private final String configHash;
    private final String dataFingerprint;
    private final Path tokenizerDir;
    private final DataParallel ranks;

    /**
     * @param configHash {@link Fingerprint#ofConfig} of {@code resolvedConfig}
     * @param tokenizerDir tokenizer files to copy into each {@code model/} folder, or null for none
     */
    TrainCheckpoints(CheckpointManager checkpoints, TrainConfig cfg, JsonNode resolvedConfig, String configHash,
                     String dataFingerprint, Path tokenizerDir, DataParallel ranks) {
        this.checkpoints = checkpoints;
        this.cfg = cfg;
        this.resolvedConfig = resolvedConfig;
        this.configHash = configHash;
        this.dataFingerprint = dataFingerprint;
        this.tokenizerDir = tokenizerDir;
        this.ranks = ranks;
    }

    /**
     * The trainer state of checkpoint {@code dir}, after checking every file of it short of reading the weights and
     * moments ({@link HfCheckpoint#verify}, {@link OptimizerState#verify}); a damaged file fails naming itself.
     */
    static TrainerState readIntact(Path dir) throws IOException {
        TrainerState state = TrainerState.read(dir);
        MasterWeights.verify(dir);
        OptimizerState.verify(dir);
        return state;
    }

    /** Every {@code checkpoint.every} steps (0: never on cadence) and always after the last step. */
    boolean due(long step, long totalSteps) {
        return (cfg.checkpoint().every() > 0 && step % cfg.checkpoint().every() == 0) || step == totalSteps;
    }

    /**
     * Saves the run as of the step {@code counters} just counted; returns the checkpoint folder once it is complete
     * on disk, on every rank.
     */
    Path save(StepCounters counters, DataCursor cursor, LlamaModel model, AdamW adamw, LossScaler.State lossScale)
            throws IOException {
        Path dir = checkpoints.root().resolve(CheckpointManager.dirName(counters.step()));
        if (ranks.isLeader()) {
            dir = write(counters, cursor, model, adamw, lossScale);
        }
        ranks.barrier();
        return dir;
    }

    private Path write(StepCounters counters, DataCursor cursor, LlamaModel model, AdamW adamw,
                       LossScaler.State lossScale) throws IOException {
        DataType saveType = cfg.checkpoint().saveDtype().dataType();
        TrainerState state = new TrainerState(counters.step(), cursor.epoch(), cursor, counters.rowsSeen(),
                counters.tokensSeen(), counters.lossTokensSeen(), cfg.seed(), ranks.worldSize(),
                counters.consecutiveNonFinite(), dataFingerprint, configHash, resolvedConfig, lossScale);
        try {
            return checkpoints.save(counters.step(), (dir, files) -> {
                MasterWeights.write(files, dir, model.config(), model.parameters(), cfg.checkpoint().maxShardBytes(),
                        saveType, tokenizerDir);
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
