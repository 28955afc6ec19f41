package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.agentflan.trainer.model.LlamaConfig;
import org.junit.jupiter.api.Assumptions;

/** Golden files made by scripts/reference/make_safetensors_fixtures.py, and the python checker. */
final class Fixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path PYTHON = Path.of("/usr/bin/python3");
    /** HF's default shard size for save_pretrained (as in train-defaults.yaml): test checkpoints fit in one file. */
    static final long HF_SHARD_BYTES = 5_000_000_000L;

    private Fixtures() {}

    static Path dir() {
        try {
            return Path.of(Fixtures.class.getResource("/safetensors").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode json(String name) throws IOException {
        return JSON.readTree(dir().resolve(name).toFile());
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /**
     * Every parameter of {@code config} from an HF folder as FLOAT32 arrays, read with {@link HfCheckpoint#loadInto}
     * (what loading a model does) into arrays allocated here; they are closed again if the load fails.
     */
    static Map<String, NDArray> readWeights(Path dir, LlamaConfig config, NDManager manager) throws IOException {
        Map<String, NDArray> weights = new LinkedHashMap<>();
        config.parameterShapes().forEach((name, shape) -> weights.put(name, manager.create(new Shape(shape), DataType.FLOAT32)));
        try {
            HfCheckpoint.loadInto(dir, config, weights);
        } catch (IOException | RuntimeException e) {
            weights.values().forEach(NDArray::close);
            throw e;
        }
        return weights;
    }

    /** One tensor as a new array of {@code type}, read with {@link SafetensorsReader#readInto}. */
    static NDArray readTensor(SafetensorsReader reader, String name, NDManager manager, DataType type) throws IOException {
        NDArray out = manager.create(reader.info(name).shape(), type);
        try {
            reader.readInto(name, out);
        } catch (IOException | RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    /** One tensor as a new array: floating types as FLOAT32, integer types as themselves. */
    static NDArray readTensor(SafetensorsReader reader, String name, NDManager manager) throws IOException {
        SafetensorsDType stored = reader.info(name).dtype();
        return readTensor(reader, name, manager, stored.isFloat() ? DataType.FLOAT32 : stored.nativeDjlType());
    }

    /** The {@code *.safetensors} files of a folder, sorted. */
    static List<Path> safetensorsFiles(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
    }

    /** float32 bit patterns of a FLOAT32 array, so NaN, -0 and infinities compare exactly. */
    static int[] bits(NDArray array) {
        IntBuffer ints = array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        int[] out = new int[ints.remaining()];
        ints.get(out);
        return out;
    }

    static ByteBuffer floats(float... values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b;
    }

    static void assertBits(int[] expected, NDArray actual, String what) {
        int[] got = bits(actual);
        assertEquals(expected.length, got.length, what + ": element count");
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != got[i]) {
                throw new AssertionError(what + "[" + i + "]: expected bits 0x" + Integer.toHexString(expected[i])
                        + " (" + Float.intBitsToFloat(expected[i]) + ") got 0x" + Integer.toHexString(got[i])
                        + " (" + Float.intBitsToFloat(got[i]) + ")");
            }
        }
    }

    /** Skips the calling test, with the reason, when /usr/bin/python3 cannot import torch (CI installs python3-torch). */
    static void assumePythonTorch() {
        boolean ok;
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
            ok = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            ok = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ok = false;
        }
        Assumptions.assumeTrue(ok, "skipped: /usr/bin/python3 with torch and numpy is not available "
                + "(apt-get install python3-torch); the python cross-check needs it");
    }

    /** Output of a process that exited; stdout and stderr separately. */
    record Result(int exitCode, String stdout, String stderr) {}

    static Result runChecker(Path file, Path roundedFrom) {
        Path script = repoRoot().resolve("scripts/reference/check_safetensors.py");
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(), script.toString(), file.toString()));
        if (roundedFrom != null) {
            command.add("--rounded-from");
            command.add(roundedFrom.toString());
        }
        try {
            Process p = new ProcessBuilder(command).start();
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("check_safetensors.py timed out on " + file);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The repository root (surefire runs in the module folder). */
    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !p.resolve("scripts/reference").toFile().isDirectory()) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find scripts/reference above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
