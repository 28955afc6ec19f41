package org.agentflan.trainer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.format.Manifest;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardReader;

/**
 * The train and eval samples of a run: every {@code data.dirs} folder in order, eval from {@code data.eval_dirs} or
 * a {@code holdout_fraction} of the training samples chosen by {@link HoldoutSplit} -- stable under reordering.
 * Every folder, eval folders included, must have been tokenized with the model's tokenizer when the model has one
 * ({@link ModelTokenizer}), and with one tokenizer in any case.
 */
record Datasets(List<Sample> train, List<Sample> eval) {

    /** @param tokenizer the model's tokenizer, or null when it has none (the folders must still agree) */
    static Datasets load(TrainConfig cfg, ModelTokenizer tokenizer) {
        List<Sample> all = new ArrayList<>();
        List<Sample> eval = new ArrayList<>();
        OneTokenizer check = new OneTokenizer(tokenizer);
        for (String dir : cfg.data().dirs()) {
            all.addAll(check.read(Path.of(dir)).samples());
        }
        for (String dir : cfg.data().evalDirs()) {
            eval.addAll(check.read(Path.of(dir)).samples());
        }
        List<Sample> train = all;
        double holdout = cfg.data().holdoutFraction();
        if (holdout > 0) {
            train = new ArrayList<>();
            for (Sample s : all) {
                (HoldoutSplit.heldOut(cfg.seed(), holdout, s.id()) ? eval : train).add(s);
            }
        }
        return new Datasets(List.copyOf(train), List.copyOf(eval));
    }

    /** Reads data folders, each checked against the model's tokenizer, or without one against the first folder's. */
    private static final class OneTokenizer {
        private final ModelTokenizer model;
        private ShardReader.DataDir first;

        OneTokenizer(ModelTokenizer model) {
            this.model = model;
        }

        ShardReader.DataDir read(Path dir) {
            ShardReader.DataDir d = ShardReader.read(dir, manifest -> {
                Path file = dir.resolve(Manifest.FILE_NAME);
                if (model != null) {
                    model.requireUsedBy(file, manifest);
                } else if (first != null && !first.manifest().tokenizerSha256().equalsIgnoreCase(manifest.tokenizerSha256())) {
                    throw new DataException(file + ": tokenizer_sha256 " + manifest.tokenizerSha256() + " differs from "
                            + first.manifestFile() + "'s " + first.manifest().tokenizerSha256()
                            + "; all data must use one tokenizer");
                }
            });
            first = first == null ? d : first;
            return d;
        }
    }
}
