package org.agentflan.trainer.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The checkpoint folders of a run: {@code <run>/checkpoints/step_%08d/}. A checkpoint is written into a hidden
 * temporary folder, its {@code COMPLETE} marker last, and only then renamed into place; {@code latest} (a file
 * naming the folder) is replaced atomically after that, and older checkpoints beyond {@code keep} are removed
 * marker first. Every file, {@code latest} included, is written by one {@link AtomicFileWriter}. So a crash at any
 * moment leaves every visible checkpoint either complete or ignorable, and a checkpoint without its marker does not
 * exist. The {@link SaveObserver} sees each file of a save and the rename of its folder.
 */
public final class CheckpointManager {
    public static final String MARKER = "COMPLETE";
    public static final String LATEST = "latest";
    private static final String PREFIX = "step_";
    private static final String TEMP_PREFIX = ".tmp-";

    /** Writes the content of one checkpoint into the (temporary) folder it is given, every file through {@code files}. */
    public interface Content {
        void write(Path dir, AtomicFileWriter files) throws IOException;
    }

    private final Path root;
    private final int keep;
    private final SaveObserver observer;
    private final AtomicFileWriter files;

    public CheckpointManager(Path runDir, int keep, SaveObserver observer) {
        this.root = runDir.resolve("checkpoints");
        this.keep = keep;
        this.observer = observer;
        this.files = new AtomicFileWriter(observer);
    }

    public Path root() {
        return root;
    }

    public static String dirName(long step) {
        return String.format("%s%08d", PREFIX, step);
    }

    public static boolean isComplete(Path dir) {
        return Files.isRegularFile(dir.resolve(MARKER));
    }

    /** Writes checkpoint {@code step}; returns its final folder. */
    public Path save(long step, Content content) throws IOException {
        Files.createDirectories(root);
        Path fin = root.resolve(dirName(step));
        Path temp = root.resolve(TEMP_PREFIX + dirName(step));
        deleteTree(temp);
        Files.createDirectories(temp);
        try {
            content.write(temp, files);
            // Forcing the marker's folder also makes the entries of the content written before it durable.
            files.writeBytes(temp.resolve(MARKER), ("step " + step + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        if (Files.exists(fin)) {
            // Same step saved again (a run resumed from an older checkpoint): the old folder goes, marker first.
            removeCheckpoint(fin);
        }
        Files.move(temp, fin, StandardCopyOption.ATOMIC_MOVE);
        AtomicFileWriter.syncDirectory(root);
        observer.reached(SaveObserver.Point.CHECKPOINT_IN_PLACE, fin);
        files.writeBytes(root.resolve(LATEST), (dirName(step) + "\n").getBytes(StandardCharsets.UTF_8));
        prune(step);
        return fin;
    }

    /**
     * The checkpoint to resume from: the first of {@link #resumeCandidates}. A crash between a checkpoint's rename and
     * the update of {@code latest} resumes from the previous checkpoint, which is just as exact.
     */
    public Optional<Path> latestComplete() throws IOException {
        List<Path> candidates = resumeCandidates();
        return candidates.isEmpty() ? Optional.empty() : Optional.of(candidates.get(0));
    }

    /**
     * The complete checkpoints a run may resume from, best first: the one {@code latest} names, then the complete ones
     * of lower steps, newest first. When {@code latest} is missing or {@link #latestProblem unusable}, every complete
     * checkpoint, newest first. A caller that finds the first one damaged falls back along this list.
     */
    public List<Path> resumeCandidates() throws IOException {
        List<Path> complete = new ArrayList<>(completeCheckpoints());
        Collections.reverse(complete);
        Path named = latestNamed();
        if (named == null || !isComplete(named)) {
            return complete;
        }
        long step = stepOf(named);
        List<Path> candidates = new ArrayList<>(List.of(named));
        complete.stream().filter(p -> stepOf(p) < step).forEach(candidates::add);
        return candidates;
    }

    /**
     * What is wrong with {@code latest}, in one line naming it, or empty when it names a complete checkpoint or does
     * not exist (before the first save, or after a crash just before the first update of it).
     */
    public Optional<String> latestProblem() throws IOException {
        Path latest = root.resolve(LATEST);
        if (!Files.exists(latest)) {
            return Optional.empty();
        }
        if (!Files.isRegularFile(latest)) {
            return Optional.of(latest + " is not a file");
        }
        String text = new String(Files.readAllBytes(latest), StandardCharsets.UTF_8).trim();
        if (!text.matches(PREFIX + "[0-9]{8}")) {
            return Optional.of(latest + " holds '" + printable(text) + "' instead of a checkpoint folder name ("
                    + PREFIX + "NNNNNNNN): damaged");
        }
        if (!isComplete(root.resolve(text))) {
            return Optional.of(latest + " names " + text + ", which is not a complete checkpoint (removed, or"
                    + " interrupted while being replaced)");
        }
        return Optional.empty();
    }

    /** The folder {@code latest} names, or null when it is missing or does not hold a checkpoint folder name. */
    private Path latestNamed() throws IOException {
        return latestProblem().isPresent() || !Files.exists(root.resolve(LATEST)) ? null
                : root.resolve(Files.readString(root.resolve(LATEST), StandardCharsets.UTF_8).trim());
    }

    /** At most 40 characters of {@code text}, control and replacement characters shown as '?', for a one-line message. */
    private static String printable(String text) {
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return shown.codePoints().map(c -> Character.isISOControl(c) || c == 0xFFFD ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    /**
     * Removes what interrupted saves left: temporary folders, step folders without their marker, and a temporary
     * file of {@code latest} (call once at start, before saving).
     */
    public void removeIncomplete() throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> entries = Files.list(root)) {
            for (Path p : entries.toList()) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p) && (name.startsWith(TEMP_PREFIX) || (name.startsWith(PREFIX) && !isComplete(p)))) {
                    deleteTree(p);
                } else if (Files.isRegularFile(p) && AtomicFileWriter.isTemporary(p)) {
                    Files.delete(p);
                }
            }
        }
    }

    /** Complete checkpoints, oldest first. */
    public List<Path> completeCheckpoints() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(d -> d.getFileName().toString().startsWith(PREFIX) && isComplete(d))
                    .sorted(Comparator.comparingLong(CheckpointManager::stepOf))
                    .toList();
        }
    }

    public static long stepOf(Path dir) {
        String name = dir.getFileName().toString();
        try {
            return Long.parseLong(name.substring(PREFIX.length()));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(dir + " is not a checkpoint folder (expected " + PREFIX + "NNNNNNNN)");
        }
    }

    /**
     * Keeps the newest {@code keep} checkpoints up to {@code step}. Later ones belong to an earlier run that this one
     * resumed before the end of; they are left alone (and replaced when this run reaches their steps), so pruning
     * never removes the checkpoint just written.
     */
    private void prune(long step) throws IOException {
        List<Path> complete = new ArrayList<>(completeCheckpoints().stream().filter(p -> stepOf(p) <= step).toList());
        while (complete.size() > keep) {
            removeCheckpoint(complete.remove(0));
        }
    }

    private static void removeCheckpoint(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(MARKER));
        AtomicFileWriter.syncDirectory(dir);
        deleteTree(dir);
    }

    /** Removes {@code dir} and everything under it, if it exists. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
