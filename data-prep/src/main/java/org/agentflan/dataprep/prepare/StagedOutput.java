package org.agentflan.dataprep.prepare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.UUID;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Manifest;
import org.agentflan.format.ShardSchema;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A corpus written beside the one it replaces: the run writes into {@code <output>.tmp-<id>/} and only a complete
 * corpus is swapped in (the old corpus renamed to {@code <output>.old-<id>/}, the new one renamed to
 * {@code <output>}, then the old one removed). A run that fails or is killed before the swap leaves the previous
 * corpus as it was; one killed between the two renames leaves both folders, nothing lost. Renames go through
 * Hadoop's FileSystem: atomic on a local disk and on HDFS.
 */
final class StagedOutput {
    /** What a corpus folder holds; anything else in an existing output means it is not a corpus to replace. */
    private static final Set<String> CORPUS_ENTRIES = Set.of(ShardSchema.SHARDS_DIR, ConversationRecord.DIR,
            CorpusWriter.REJECTS, Manifest.FILE_NAME);

    private final FileSystem fs;
    private final Path output;
    private final Path staging;
    private final String id;

    private StagedOutput(FileSystem fs, Path output, String id) {
        this.fs = fs;
        this.output = output;
        this.id = id;
        this.staging = sibling(output, "tmp", id);
    }

    /**
     * Picks a staging folder beside {@code output}; nothing is written yet.
     *
     * @throws IllegalArgumentException when {@code output} exists and holds something other than a corpus
     */
    static StagedOutput begin(Configuration conf, String output) {
        Path out = new Path(output);
        try {
            FileSystem fs = out.getFileSystem(conf);
            out = fs.makeQualified(out);
            String problem = notReplaceable(fs, out);
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
            return new StagedOutput(fs, out, UUID.randomUUID().toString().substring(0, 8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot inspect output " + output + ": " + e.getMessage(), e);
        }
    }

    /**
     * Null when a run may write {@code output} (absent, empty, or a corpus: only shards/, conversations/, rejects/, manifest.json
     * and their hidden checksum or temporary files); else why not. A run replaces the whole folder, so a folder
     * holding anything else (a home directory, a parent of several corpora) is refused, never emptied.
     */
    static String notReplaceable(FileSystem fs, Path output) throws IOException {
        if (output.getParent() == null) {
            return "output " + output + " is a root folder; name a folder for the corpus";
        }
        if (!fs.exists(output)) {
            return null;
        }
        if (!fs.getFileStatus(output).isDirectory()) {
            return "output " + output + " is a file; name a folder for the corpus";
        }
        for (FileStatus entry : fs.listStatus(output)) {
            String name = entry.getPath().getName();
            String bare = name.startsWith(".") ? name.substring(1) : name;
            boolean corpus = CORPUS_ENTRIES.contains(name)
                    || (name.startsWith(".") && CORPUS_ENTRIES.stream().anyMatch(bare::startsWith));
            if (!corpus) {
                return "output " + output + " holds '" + name + "', which is not part of a corpus (a run replaces"
                        + " the whole folder: name an empty or new folder, or one a previous run wrote)";
            }
        }
        return null;
    }

    /** Where the run writes. */
    String path() {
        return staging.toString();
    }

    /** Whether a previous corpus is at the output (for the failure message). */
    boolean replacesExisting() {
        try {
            return fs.exists(output);
        } catch (IOException e) {
            return false;
        }
    }

    /** Swaps the complete corpus in for the previous one, which is then removed. */
    void commit() {
        Path aside = sibling(output, "old", id);
        try {
            boolean previous = fs.exists(output);
            if (previous && !fs.rename(output, aside)) {
                throw new IOException("cannot move the previous corpus " + output + " aside to " + aside);
            }
            if (!fs.rename(staging, output)) {
                if (previous) {
                    fs.rename(aside, output); // put the previous corpus back; the new one stays in staging
                }
                throw new IOException("cannot rename " + staging + " to " + output);
            }
            if (previous) {
                fs.delete(aside, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** Removes the staging folder of a failed run (best effort: the failure being reported matters more). */
    void abandon() {
        try {
            fs.delete(staging, true);
        } catch (IOException | RuntimeException e) {
            System.err.println("prepare: could not remove " + staging + ": " + e.getMessage());
        }
    }

    private static Path sibling(Path output, String kind, String id) {
        return new Path(output.getParent(), output.getName() + "." + kind + "-" + id);
    }
}
