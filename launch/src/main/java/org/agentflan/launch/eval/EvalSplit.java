package org.agentflan.launch.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.config.ConfigLoader;
import org.agentflan.launch.UserError;
import org.agentflan.trainer.HoldoutSplit;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.checkpoint.TrainerState;

/**
 * Which samples of a data folder {@code eval} reads. {@code all}: every one. {@code heldout}: the ones the training
 * run evaluated on, by its own rule: the whole folder when it is one of the run's {@code data.eval_dirs}, else the
 * {@code data.holdout_fraction} that {@link HoldoutSplit} picks with the run's seed. The run's config comes from
 * {@code --train-config FILE}, else from the {@code trainer_state.json} beside the model folder (a checkpoint's
 * {@code model/} folder has one next to it, holding the resolved config).
 *
 * @param runConfig the training run's config, or null when none was given or found (then only {@code all} works)
 * @param whole     every sample is in the split
 */
public record EvalSplit(String name, TrainConfig runConfig, boolean whole, String description) {

    public static final String HELDOUT = "heldout";
    public static final String ALL = "all";

    /** The run's config: the file given, else the one recorded beside the model folder, else null. */
    public static TrainConfig runConfig(Path trainConfig, Path modelDir) {
        if (trainConfig != null) {
            if (!Files.isRegularFile(trainConfig)) {
                throw new UserError("--train-config " + trainConfig + " is not a file; give the training's YAML config");
            }
            return TrainConfig.load(trainConfig, List.of());
        }
        Path checkpoint = modelDir.toAbsolutePath().normalize().getParent();
        if (checkpoint == null || !Files.isRegularFile(checkpoint.resolve(TrainerState.FILE))) {
            return null;
        }
        try {
            TrainerState state = TrainerState.read(checkpoint);
            return ConfigLoader.bind(TrainConfig.class, state.config(), checkpoint.resolve(TrainerState.FILE).toString());
        } catch (IOException | RuntimeException e) {
            throw new UserError("cannot read the training config recorded in " + checkpoint.resolve(TrainerState.FILE)
                    + ": " + e.getMessage() + "; pass --train-config FILE", e);
        }
    }

    public static EvalSplit of(String name, TrainConfig run, Path dataDir) {
        if (name.equals(ALL)) {
            return new EvalSplit(ALL, run, true, "all samples");
        }
        if (!name.equals(HELDOUT)) {
            throw new UserError("--split must be heldout or all, got '" + name + "'");
        }
        if (run == null) {
            throw new UserError("--split heldout needs the training run's seed and data.holdout_fraction: point --model at"
                    + " a checkpoint's model/ folder (its ../trainer_state.json records them), pass --train-config FILE,"
                    + " or use --split all");
        }
        Path data = dataDir.toAbsolutePath().normalize();
        if (run.data().evalDirs().stream().anyMatch(d -> Path.of(d).toAbsolutePath().normalize().equals(data))) {
            return new EvalSplit(HELDOUT, run, true, "the whole folder (it is one of the run's data.eval_dirs)");
        }
        if (run.data().holdoutFraction() <= 0) {
            throw new UserError("the training run held out nothing of " + dataDir + " (data.holdout_fraction is 0 and the"
                    + " folder is not in data.eval_dirs); use --split all");
        }
        return new EvalSplit(HELDOUT, run, false, "seed " + run.seed() + ", data.holdout_fraction "
                + run.data().holdoutFraction());
    }

    /** Whether the sample {@code id} is in this split. */
    public boolean contains(String id) {
        return whole || HoldoutSplit.heldOut(runConfig.seed(), runConfig.data().holdoutFraction(), id);
    }
}
