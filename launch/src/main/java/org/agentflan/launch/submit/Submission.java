package org.agentflan.launch.submit;

import java.util.List;
import java.util.Map;

/**
 * What a target would run or apply: files to write into the submit folder, then one command run there. With
 * {@code --dry-run}, {@code agentflan submit} prints both and runs nothing.
 *
 * @param files file name (relative to the submit folder) to content, in the order they are printed
 * @param command the command to run in the submit folder (sbatch job.sbatch, spark-submit ..., kubectl apply -f ...)
 * @param summary one line for the console: what was submitted where, and how to follow it
 */
public record Submission(Map<String, String> files, List<String> command, String summary) {}
