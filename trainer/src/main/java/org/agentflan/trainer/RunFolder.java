package org.agentflan.trainer;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.trainer.metrics.TrainingFigure;

/**
 * The run folder ({@code run_dir}): created, or checked, before anything is trained, so that a path that cannot hold
 * a run fails at once in one line naming it, instead of after hours of training when the first checkpoint is due.
 */
final class RunFolder {
    static final String CONFIG = "config.json";
    static final String METRICS = "metrics.jsonl";
    static final String PLOT = TrainingFigure.FILE_NAME;
    /** Files the run writes directly into the folder: each must be a file or not exist yet. */
    private static final List<String> FILES = List.of(RunLock.FILE, RunRecord.FILE, CONFIG, METRICS, PLOT);
    /** Folders the run writes into: each must be a folder or not exist yet. */
    private static final List<String> FOLDERS = List.of("checkpoints");

    private RunFolder() {}

    /** Creates {@code runDir} and its {@code checkpoints/} folder; throws a {@link TrainException} naming the path. */
    static Path create(Path runDir) {
        if (Files.exists(runDir) && !Files.isDirectory(runDir)) {
            throw new TrainException("run_dir " + runDir + " is a file, not a folder; pick another --run-dir");
        }
        createFolder(runDir, "run_dir " + runDir);
        for (String name : FILES) {
            if (Files.isDirectory(runDir.resolve(name))) {
                throw new TrainException(runDir.resolve(name) + " is a folder, but the run writes a file there; move it away");
            }
        }
        for (String name : FOLDERS) {
            Path folder = runDir.resolve(name);
            if (Files.exists(folder) && !Files.isDirectory(folder)) {
                throw new TrainException(folder + " is a file, but the run keeps a folder there; move it away");
            }
            createFolder(folder, folder.toString());
        }
        return runDir;
    }

    private static void createFolder(Path dir, String what) {
        try {
            Files.createDirectories(dir);
        } catch (FileSystemException e) {
            Path existing = dir.toAbsolutePath();
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing != null && !Files.isDirectory(existing)) {
                throw new TrainException("cannot create " + what + ": " + existing + " is a file, not a folder");
            }
            throw new TrainException("cannot create " + what + ": " + (e.getReason() == null ? e.getMessage()
                    : e.getFile() + ": " + e.getReason()));
        } catch (IOException e) {
            throw new TrainException("cannot create " + what + ": " + e.getMessage());
        }
    }
}
