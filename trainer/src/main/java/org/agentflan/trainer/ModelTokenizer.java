package org.agentflan.trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.Manifest;
import org.agentflan.trainer.data.DataException;

/**
 * The tokenizer that goes with the model: {@code model.tokenizer_dir}, else {@code model.hf_dir} for a model loaded
 * from Hugging Face. Its files are copied into every checkpoint's {@code model/}, and its {@code tokenizer.json} is
 * the one every data folder must have been tokenized with: one rule, always applied, because token ids from another
 * tokenizer train without any error and mean other text. A randomly initialised model without a tokenizer folder has
 * no tokenizer of its own, so its data is not checked against one.
 *
 * @param dir the folder holding the tokenizer files
 * @param sha256 the sha256 of its {@code tokenizer.json}, as data-prep records it in the manifest
 */
record ModelTokenizer(Path dir, String sha256) {

    /** The model's tokenizer, or null when the config gives the model none (random init without tokenizer_dir). */
    static ModelTokenizer of(TrainConfig cfg) {
        Path dir;
        String key;
        if (!cfg.model().tokenizerDir().isBlank()) {
            dir = Path.of(cfg.model().tokenizerDir());
            key = "model.tokenizer_dir";
        } else if (cfg.model().init() == TrainConfig.Init.HF) {
            dir = Path.of(cfg.model().hfDir());
            key = "model.hf_dir";
        } else {
            return null;
        }
        Path file = dir.resolve(Llama2Tokenizer.FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new TrainException(key + " " + dir + " has no " + Llama2Tokenizer.FILE_NAME + ", so the data's"
                    + " tokenizer cannot be checked against the model's; set model.tokenizer_dir to the folder with the"
                    + " model's " + Llama2Tokenizer.FILE_NAME);
        }
        return new ModelTokenizer(dir, Llama2Tokenizer.sha256(file));
    }

    Path file() {
        return dir.resolve(Llama2Tokenizer.FILE_NAME);
    }

    /** Throws a {@link DataException} naming both files and hashes unless the data was tokenized with this tokenizer. */
    void requireUsedBy(Path manifestFile, Manifest manifest) {
        if (!sha256.equalsIgnoreCase(manifest.tokenizerSha256())) {
            throw new DataException(manifestFile + ": tokenizer_sha256 is " + manifest.tokenizerSha256()
                    + " but the model's tokenizer " + file() + " has sha256 " + sha256 + ": the shards were tokenized"
                    + " with another tokenizer, so their ids mean other text to this model. Re-run prepare with"
                    + " tokenizer=" + dir + ", or set model.tokenizer_dir to the tokenizer the data was made with");
        }
    }
}
