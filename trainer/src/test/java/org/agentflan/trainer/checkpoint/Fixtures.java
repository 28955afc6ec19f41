package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Golden files made by scripts/reference/make_safetensors_fixtures.py, and the python checker. */
final class Fixtures {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path PYTHON = Path.of("/usr/bin/python3");

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
