package org.agentflan.trainer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.data.DataException;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardReader;

/**
 * The train and eval samples of a run: every {@code data.dirs} folder in order, eval from {@code data.eval_dirs} or
 * a {@code holdout_fraction} of the training samples chosen by a hash of (seed, id) -- stable under reordering.
 */
record Datasets(List<Sample> train, List<Sample> eval, String tokenizerSha256) {

    static Datasets load(TrainConfig cfg) {
        List<Sample> all = new ArrayList<>();
        String sha = null;
        for (String dir : cfg.data().dirs()) {
            ShardReader.DataDir d = ShardReader.read(Path.of(dir), cfg.data().tokenizerSha256());
            if (sha != null && !sha.equalsIgnoreCase(d.tokenizerSha256())) {
                throw new DataException(dir + "/manifest.json: tokenizer_sha256 " + d.tokenizerSha256()
                        + " differs from the other data folders' " + sha + "; all data must use one tokenizer");
            }
            sha = d.tokenizerSha256();
            all.addAll(d.samples());
        }
        List<Sample> eval = new ArrayList<>();
        for (String dir : cfg.data().evalDirs()) {
            eval.addAll(ShardReader.read(Path.of(dir), sha == null ? "" : sha).samples());
        }
        List<Sample> train = all;
        double holdout = cfg.data().holdoutFraction();
        if (holdout > 0) {
            train = new ArrayList<>();
            for (Sample s : all) {
                (unit(cfg.seed(), s.id()) < holdout ? eval : train).add(s);
            }
        }
        return new Datasets(List.copyOf(train), List.copyOf(eval), sha);
    }

    /** A number in [0, 1) from (seed, id), the same on every machine (FNV-1a 64 then a splitmix finaliser). */
    static double unit(long seed, String id) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (h >>> 11) / (double) (1L << 53);
    }
}
