package org.agentflan.trainer.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.agentflan.trainer.optim.AdamW;
import org.agentflan.trainer.optim.FlatLayout;

/**
 * AdamW's state in a checkpoint: {@code optimizer.safetensors} (fp32 {@code exp_avg.<param>} and
 * {@code exp_avg_sq.<param>}, loadable with the safetensors library) and {@code optimizer.json} (step and
 * hyper-parameters, for people and for checks).
 *
 * <p>Under ZeRO stage 1 each rank holds the moments of its slice of the flat parameter space ({@link FlatLayout})
 * only, and writes them itself: {@code optimizer/rank-RRRRR-of-WWWWW.safetensors} with 1-D {@code exp_avg.<param>}
 * and {@code exp_avg_sq.<param>} for each piece of a parameter in its slice (metadata: step, rank, world size), and
 * rank 0 writes {@code optimizer/layout.json}, the flat layout they were cut from, beside {@code optimizer.json}.
 * Either form restores into either form at any world size ({@link #restore}, {@link #restoreSlice}): moments are
 * copied element for element from where the saved layout put them, so re-sharding changes no value.
 */
public final class OptimizerState {
    public static final String TENSORS = "optimizer.safetensors";
    public static final String META = "optimizer.json";
    /** The folder of the per-rank slices under ZeRO stage 1. */
    public static final String SHARDED = "optimizer";
    public static final String LAYOUT = "layout.json";
    private static final String[] MOMENTS = {"exp_avg.", "exp_avg_sq."};

    private OptimizerState() {}

    /**
     * Checks {@code optimizer.safetensors} without reading the moments: a valid header that covers the file exactly,
     * and the step in its metadata; a truncated, garbled or missing file fails naming itself.
     */
    public static void verify(Path dir) throws IOException {
        if (!isSharded(dir)) {
            stepOf(dir.resolve(TENSORS));
            return;
        }
        FlatLayout layout = readLayout(dir);
        for (int r = 0; r < layout.world(); r++) {
            stepOf(sliceFile(dir, r, layout.world()));
        }
    }

    /** Whether the checkpoint holds ZeRO stage 1 slices rather than one {@code optimizer.safetensors}. */
    public static boolean isSharded(Path dir) {
        return Files.isDirectory(dir.resolve(SHARDED));
    }

    /** The step in a moments file's metadata; a missing, truncated or garbled file fails naming itself. */
    private static long stepOf(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw CheckpointFormatException.of(file, "missing");
        }
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            String step = reader.metadata().get("step");
            if (step == null || !step.matches("[0-9]+")) {
                throw CheckpointFormatException.of(file, "metadata has no step");
            }
            return Long.parseLong(step);
        }
    }

    private static FlatLayout readLayout(Path dir) throws IOException {
        Path file = dir.resolve(SHARDED).resolve(LAYOUT);
        if (!Files.isRegularFile(file)) {
            throw CheckpointFormatException.of(file, "missing");
        }
        try {
            return FlatLayout.fromJson(new ObjectMapper().readTree(file.toFile()));
        } catch (IOException | IllegalArgumentException e) {
            throw CheckpointFormatException.of(file, "not a flat layout: " + e.getMessage());
        }
    }

    /** Writes both files through {@code files}; returns the bytes of the tensor file. */
    public static long write(AtomicFileWriter files, Path dir, AdamW adamw) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", Long.toString(adamw.step()));
        long bytes = SafetensorsWriter.write(files, dir.resolve(TENSORS),
                SafetensorsWriter.entries(adamw.stateTensors(), DataType.FLOAT32), meta);
        writeMeta(files, dir, adamw);
        return bytes;
    }

    /** The file of {@code rank}'s slice in a checkpoint of {@code world} ranks. */
    public static Path sliceFile(Path dir, int rank, int world) {
        return dir.resolve(SHARDED).resolve(String.format("rank-%05d-of-%05d.safetensors", rank, world));
    }

    /** Writes this rank's slice of the moments (ZeRO stage 1; every rank calls it); returns its bytes. */
    public static long writeSlice(AtomicFileWriter files, Path dir, AdamW slice, FlatLayout layout, int rank)
            throws IOException {
        Files.createDirectories(dir.resolve(SHARDED));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", Long.toString(slice.step()));
        meta.put("rank", Integer.toString(rank));
        meta.put("world_size", Integer.toString(layout.world()));
        return SafetensorsWriter.write(files, sliceFile(dir, rank, layout.world()),
                SafetensorsWriter.entries(slice.stateTensors(), DataType.FLOAT32), meta);
    }

    /** Writes the flat layout and {@code optimizer.json} of a ZeRO stage 1 checkpoint (rank 0 calls it). */
    public static void writeLayout(AtomicFileWriter files, Path dir, AdamW slice, FlatLayout layout) throws IOException {
        Files.createDirectories(dir.resolve(SHARDED));
        ObjectMapper json = new ObjectMapper();
        files.writeBytes(dir.resolve(SHARDED).resolve(LAYOUT),
                json.writerWithDefaultPrettyPrinter().writeValueAsBytes(layout.toJson(json)));
        writeMeta(files, dir, slice);
    }

    private static void writeMeta(AtomicFileWriter files, Path dir, AdamW adamw) throws IOException {
        AdamW.Settings s = adamw.settings();
        String json = "{\n  \"type\": \"adamw\",\n  \"step\": " + adamw.step() + ",\n  \"beta1\": " + s.beta1()
                + ",\n  \"beta2\": " + s.beta2() + ",\n  \"eps\": " + s.eps() + ",\n  \"weight_decay\": " + s.weightDecay()
                + "\n}\n";
        files.writeBytes(dir.resolve(META), json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A new AdamW over {@code params} resumed from the saved state: each moment is allocated once and the saved
     * values are read straight into it (what resuming a run uses: no zeroing, no second copy).
     */
    public static AdamW restore(Path dir, AdamW.Settings settings, Map<String, NDArray> params, NDManager manager)
            throws IOException {
        if (isSharded(dir)) {
            Map<String, long[]> ranges = new LinkedHashMap<>();
            params.forEach((name, p) -> ranges.put(name, new long[] {0, p.size()}));
            return restoreRanges(dir, settings, params, AdamW.decaysOf(params), ranges, FlatLayout.of(params, 1), manager);
        }
        Path file = dir.resolve(TENSORS);
        try (SafetensorsReader reader = SafetensorsReader.open(file)) {
            String step = reader.metadata().get("step");
            if (step == null) {
                throw new IOException(file + ": metadata has no 'step'");
            }
            Map<String, Shape> shapes = new LinkedHashMap<>();
            reader.tensors().forEach((name, info) -> shapes.put(name, info.shape()));
            try {
                return AdamW.restore(settings, params, manager, shapes, reader::readInto, Long.parseLong(step));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * A new AdamW over {@code pieces}, this rank's slice of {@code layout} (1-D views of the parameters by name, as
     * {@code layout.piecesOf(rank)} cuts them), with the moments of those elements from the checkpoint, whether it
     * was saved unsharded or in slices of any world size.
     */
    public static AdamW restoreSlice(Path dir, AdamW.Settings settings, Map<String, NDArray> pieces,
                                     Map<String, Boolean> decays, FlatLayout layout, int rank, NDManager manager)
            throws IOException {
        Map<String, long[]> ranges = new LinkedHashMap<>();
        for (FlatLayout.Piece piece : layout.piecesOf(rank)) {
            ranges.put(piece.name(), new long[] {piece.from(), piece.to()});
        }
        return restoreRanges(dir, settings, pieces, decays, ranges, layout, manager);
    }

    /**
     * Restores moments for {@code arrays}, each of which holds elements {@code ranges[name]} of parameter
     * {@code name}, reading those elements from wherever the checkpoint keeps them.
     */
    private static AdamW restoreRanges(Path dir, AdamW.Settings settings, Map<String, NDArray> arrays,
                                       Map<String, Boolean> decays, Map<String, long[]> ranges, FlatLayout mine,
                                       NDManager manager) throws IOException {
        try (SavedMoments saved = SavedMoments.open(dir, mine)) {
            Map<String, Shape> shapes = new LinkedHashMap<>();
            for (String prefix : MOMENTS) {
                arrays.forEach((name, a) -> shapes.put(prefix + name, a.getShape()));
            }
            AdamW.MomentSource source = (tensor, destination) -> {
                String prefix = tensor.startsWith(MOMENTS[1]) ? MOMENTS[1] : MOMENTS[0];
                String param = tensor.substring(prefix.length());
                long[] range = ranges.get(param);
                saved.readRange(prefix, param, range[0], range[1], destination.reshape(-1));
            };
            try {
                return AdamW.restore(settings, arrays, decays, manager, shapes, source, saved.step());
            } catch (IllegalArgumentException e) {
                throw new IOException(dir + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * The moments of a checkpoint by element ranges of parameters, whichever form it was saved in: one file of whole
     * tensors, or per-rank files of 1-D pieces cut by a saved {@link FlatLayout}.
     */
    private static final class SavedMoments implements AutoCloseable {
        private final FlatLayout layout;
        private final List<SafetensorsReader> readers = new ArrayList<>();
        private final long step;

        private SavedMoments(FlatLayout layout, long step) {
            this.layout = layout;
            this.step = step;
        }

        /** Opens the checkpoint's moments; {@code mine} lays out the parameters of this run, which must match. */
        static SavedMoments open(Path dir, FlatLayout mine) throws IOException {
            if (!isSharded(dir)) {
                SavedMoments saved = new SavedMoments(mine.withWorld(1), stepOf(dir.resolve(TENSORS)));
                saved.readers.add(SafetensorsReader.open(dir.resolve(TENSORS)));
                return saved;
            }
            FlatLayout layout = readLayout(dir);
            if (!layout.sameParameters(mine)) {
                throw CheckpointFormatException.of(dir.resolve(SHARDED).resolve(LAYOUT),
                        "lays out other parameters (names, shapes or order) than this model's");
            }
            long step = -1;
            SavedMoments saved = null;
            try {
                for (int r = 0; r < layout.world(); r++) {
                    Path file = sliceFile(dir, r, layout.world());
                    long fileStep = stepOf(file);
                    if (step >= 0 && fileStep != step) {
                        throw CheckpointFormatException.of(file, "is of step " + fileStep + ", rank 0's of step " + step);
                    }
                    step = fileStep;
                    if (saved == null) {
                        saved = new SavedMoments(layout, step);
                    }
                    saved.readers.add(SafetensorsReader.open(file));
                }
                return saved;
            } catch (IOException | RuntimeException e) {
                if (saved != null) {
                    saved.close();
                }
                throw e;
            }
        }

        long step() {
            return step;
        }

        /** Elements {@code [from, to)} of moment {@code prefix + param} into the 1-D {@code destination}. */
        void readRange(String prefix, String param, long from, long to, NDArray destination) throws IOException {
            for (int r = 0; r < readers.size(); r++) {
                for (FlatLayout.Piece piece : layout.piecesOf(r)) {
                    long start = Math.max(from, piece.from());
                    long end = Math.min(to, piece.to());
                    if (!piece.name().equals(param) || start >= end) {
                        continue;
                    }
                    SafetensorsReader reader = readers.get(r);
                    String name = prefix + param;
                    Shape savedShape = reader.info(name).shape();
                    if (start == from && end == to && piece.from() == from && piece.to() == to) {
                        reader.readInto(name, destination.reshape(savedShape)); // the whole saved tensor, in place
                        continue;
                    }
                    try (NDManager scope = destination.getManager().newSubManager()) {
                        NDArray whole = scope.create(savedShape, DataType.FLOAT32);
                        reader.readInto(name, whole);
                        NDArray values = whole.reshape(-1).get(new NDIndex().addSliceDim(start - piece.from(), end - piece.from()));
                        destination.set(new NDIndex().addSliceDim(start - from, end - from), values);
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            IOException first = null;
            for (SafetensorsReader reader : readers) {
                try {
                    reader.close();
                } catch (IOException e) {
                    first = first == null ? e : first;
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
