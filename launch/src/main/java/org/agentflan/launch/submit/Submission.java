package org.agentflan.launch.submit;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a target would run or apply: files to write into the submit folder, then one command run there. With
 * {@code --dry-run}, {@code agentflan submit} prints both and runs nothing.
 *
 * @param files file name (relative to the submit folder) to content, in the order they are printed
 * @param command the command to run in the submit folder (sbatch job.sbatch, spark-submit ..., kubectl apply -f ...)
 * @param summary one line for the console: what was submitted where, and how to follow it
 * @param folders absolute folders to create before the command runs (Slurm's log folder: sbatch does not create it)
 */
public record Submission(Map<String, String> files, List<String> command, String summary, List<Path> folders) {
    /** A submission that needs no folder besides the submit folder. */
    public Submission(Map<String, String> files, List<String> command, String summary) {
        this(files, command, summary, List.of());
    }
}
