package org.agentflan.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.config.ConfigLoader;
import org.agentflan.trainer.checkpoint.TrainerState;

/**
 * What a resumed run takes from its checkpoint: the architecture ({@code model.*}) and everything that fixes the
 * data order ({@code seed}, {@code data.dirs/eval_dirs/holdout_fraction/seq_len/overlong/shuffle}), since the saved
 * cursor only means something under those. A differing value is replaced by the checkpoint's, with a warning;
 * everything else (learning rate, batch, checkpoint cadence, ...) may change between runs.
 */
final class ResumePolicy {
    static final List<String> PINNED = List.of("seed", "model", "data.dirs", "data.eval_dirs", "data.holdout_fraction",
            "data.seq_len", "data.overlong", "data.shuffle");

    /** 42 read back from JSON is an int node, the config's is a long node: compare numbers by value. */
    private static final java.util.Comparator<JsonNode> NUMBERS_BY_VALUE = (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
    };

    private ResumePolicy() {}

    static TrainConfig pin(TrainConfig config, TrainerState state, Path checkpoint, PrintStream console) {
        if (state.worldSize() != 1) {
            throw new TrainException(checkpoint + " was written by " + state.worldSize()
                    + " ranks; this trainer runs one process, so its data cursor and optimizer shards do not apply");
        }
        ObjectNode tree = (ObjectNode) ConfigLoader.toTree(config);
        JsonNode saved = state.config();
        for (String key : PINNED) {
            String[] path = key.split("\\.");
            JsonNode savedValue = at(saved, path);
            if (savedValue == null || savedValue.isMissingNode()) {
                throw new TrainException(checkpoint + ": trainer_state.json has no config key '" + key
                        + "' (written by another version?); resume with --resume none or another --run-dir");
            }
            JsonNode mine = at(tree, path);
            if (mine == null || !savedValue.equals(NUMBERS_BY_VALUE, mine)) {
                console.println("warning: config key '" + key + "' is " + mine + " here but " + savedValue + " in "
                        + checkpoint.getFileName() + "; using the checkpoint's (architecture and data order are fixed for a run)");
                ObjectNode parent = tree;
                for (int i = 0; i < path.length - 1; i++) {
                    parent = (ObjectNode) parent.get(path[i]);
                }
                parent.set(path[path.length - 1], savedValue.deepCopy());
            }
        }
        return ConfigLoader.bind(TrainConfig.class, tree, checkpoint.resolve(TrainerState.FILE).toString());
    }

    private static JsonNode at(JsonNode node, String[] path) {
        JsonNode cur = node;
        for (String p : path) {
            cur = cur == null ? null : cur.get(p);
        }
        return cur;
    }
}
