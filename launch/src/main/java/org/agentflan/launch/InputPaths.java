package org.agentflan.launch;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A command's input paths, checked before any work (a model load, a Spark start), so that a wrong one is one line
 * naming the option, the path and what to pass instead, not a library's exception from deep inside the job. An
 * optional option that was not given (null) is not checked.
 */
final class InputPaths {
    /** What each command says a tokenizer option wants. */
    static final String TOKENIZER = "the folder of Llama-2's tokenizer.json, e.g. sample-data/llama2-tokenizer";
    /** What each command says a model option wants. */
    static final String MODEL = "an HF model folder: <run>/checkpoints/step_N/model from 'agentflan train', or a folder"
            + " 'agentflan export' wrote";

    private InputPaths() {}

    /** {@code path} must be a regular file. */
    static void file(String option, Path path, String whatToPass) {
        if (path != null && !Files.isRegularFile(path)) {
            throw refusal(option, path, Files.isDirectory(path) ? " is a folder, not a file" : ": no such file", whatToPass);
        }
    }

    /** {@code path} must be a folder. */
    static void folder(String option, Path path, String whatToPass) {
        if (path != null && !Files.isDirectory(path)) {
            throw refusal(option, path, Files.exists(path) ? " is a file, not a folder" : ": no such folder", whatToPass);
        }
    }

    /** {@code path} must exist, as a file or a folder (a tokenizer is given as its folder or its tokenizer.json). */
    static void exists(String option, Path path, String whatToPass) {
        if (path != null && !Files.exists(path)) {
            throw refusal(option, path, ": no such file or folder", whatToPass);
        }
    }

    private static UserError refusal(String option, Path path, String problem, String whatToPass) {
        return new UserError(option + " " + path + problem + "; pass " + whatToPass);
    }
}
