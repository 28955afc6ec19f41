package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path tmp;

    /** Values that exercise rounding: ties to even, subnormals, overflow to infinity, NaN, signed zeros. */
    private static float[] edgeAndRandomValues(int randomCount) {
        float[] edges = {
            0f, -0f, 1f, -1f, 0.1f, 1f / 3f, 65504f, 65519.99f, 65520f, -70000f, 1e-8f, 6e-8f, 2.98e-8f, 3e-5f,
            Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.NaN, Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000),
            Float.intBitsToFloat(0x3f801000), Float.intBitsToFloat(0x3f803000), Float.intBitsToFloat(0x7f7fffff),
            Float.intBitsToFloat(0x00007fff), Float.intBitsToFloat(0x387fc000), Float.intBitsToFloat(0x33000001),
        };
        float[] values = new float[edges.length + randomCount];
        System.arraycopy(edges, 0, values, 0, edges.length);
        Random random = new Random(7);
        for (int i = edges.length; i < values.length; i++) {
            values[i] = Float.intBitsToFloat(random.nextInt()); // every exponent, so every rounding path
        }
        return values;
    }

    @Test
    void float32RoundTripIsBitExactAndHeaderIsHfLayout() throws Exception {
        Path file = tmp.resolve("round.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] values = edgeAndRandomValues(3000);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("z.weight", manager.create(values, new Shape(values.length / 3, 3)));
            tensors.put("a.ids", manager.create(new long[] {1, -2, 3L << 40}));
            tensors.put("m.ints", manager.create(new int[] {5, -6}));
            tensors.put("s.scalar", manager.create(2.5f));
            tensors.put("e.empty", manager.create(new Shape(0, 4), DataType.FLOAT32));
            long size = write(file, tensors, DataType.FLOAT32);
            assertEquals(Files.size(file), size);

            byte[] bytes = Files.readAllBytes(file);
            long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, headerLength % 8, "header padded to 8 bytes");
            String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"a.ids\":"), header);
            // data order: element size descending (I64 first), then name
            assertTrue(header.indexOf("a.ids") < header.indexOf("e.empty") && header.indexOf("e.empty") < header.indexOf("m.ints")
                    && header.indexOf("m.ints") < header.indexOf("s.scalar") && header.indexOf("s.scalar") < header.indexOf("z.weight"), header);

            try (SafetensorsReader reader = SafetensorsReader.open(file)) {
                Fixtures.assertBits(Fixtures.bits(tensors.get("z.weight")), Fixtures.readTensor(reader, "z.weight", manager), "z.weight");
                assertArrayEquals(new long[] {1, -2, 3L << 40}, Fixtures.readTensor(reader, "a.ids", manager).toLongArray());
                assertArrayEquals(new int[] {5, -6}, Fixtures.readTensor(reader, "m.ints", manager).toIntArray());
                assertEquals(new Shape(), Fixtures.readTensor(reader, "s.scalar", manager).getShape());
                assertEquals(2.5f, Fixtures.readTensor(reader, "s.scalar", manager).getFloat());
                assertEquals(new Shape(0, 4), Fixtures.readTensor(reader, "e.empty", manager).getShape());
            }
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(List.of(file), files.toList(), "no temporary files left behind");
            }
        }
    }

    @Test
    void float16ArraysRoundTripBitExact() throws Exception {
        Path file = tmp.resolve("half.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray half = manager.randomNormal(new Shape(33, 17)).toType(DataType.FLOAT16, false);
            write(file, Map.of("h", half), DataType.FLOAT16);
            try (SafetensorsReader reader = SafetensorsReader.open(file)) {
                assertEquals(SafetensorsDType.F16, reader.info("h").dtype());
                NDArray back = Fixtures.readTensor(reader, "h", manager, DataType.FLOAT16);
                assertArrayEquals(half.toByteArray(), back.toByteArray());
                // and widening in Java equals widening by the engine
                Fixtures.assertBits(Fixtures.bits(half.toType(DataType.FLOAT32, false)), Fixtures.readTensor(reader, "h", manager), "h");
            }
        }
    }

    @Test
    void pythonAcceptsJavaFilesAndAgreesWithTorchRounding() throws Exception {
        Fixtures.assumePythonTorch();
        try (NDManager manager = NDManager.newBaseManager()) {
            float[] values = edgeAndRandomValues(20000);
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("w", manager.create(values, new Shape(values.length)));
            tensors.put("b", manager.create(new float[] {1.5f, -0.25f, 1e-3f}, new Shape(3, 1)));
            tensors.put("ids", manager.create(new long[] {4, 5}));
            Path reference = tmp.resolve("ref-f32.safetensors");
            write(reference, tensors, DataType.FLOAT32);

            Fixtures.Result f32 = Fixtures.runChecker(reference, null);
            assertEquals(0, f32.exitCode(), f32.stderr());
            JsonNode summary = Fixtures.JSON.readTree(f32.stdout());
            assertArrayEquals(Fixtures.bits(tensors.get("w")), Fixtures.ints(summary.get("w").get("f32_bits")));
            assertEquals("[3,1]", summary.get("b").get("shape").toString());
            assertEquals("[4,5]", summary.get("ids").get("values").toString());

            for (DataType narrow : new DataType[] {DataType.FLOAT16, DataType.BFLOAT16}) {
                Path file = tmp.resolve(narrow + ".safetensors");
                write(file, tensors, narrow);
                Fixtures.Result r = Fixtures.runChecker(file, reference);
                assertEquals(0, r.exitCode(), narrow + ": " + r.stderr());
                // and the Java reader widens exactly what python read
                JsonNode pySummary = Fixtures.JSON.readTree(r.stdout());
                try (SafetensorsReader reader = SafetensorsReader.open(file)) {
                    Fixtures.assertBits(Fixtures.ints(pySummary.get("w").get("f32_bits")), Fixtures.readTensor(reader, "w", manager), narrow + " w");
                }
            }
        }
    }

    @Test
    void failedWriteLeavesNoFileThatLooksComplete() throws Exception {
        Path file = tmp.resolve("broken.safetensors");
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray good = manager.ones(new Shape(1000));
            NDArray closed = manager.ones(new Shape(10));
            closed.close(); // fails when its bytes are fetched, after the header and the first tensor were written
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("a", good);
            tensors.put("b", closed);
            assertThrows(Exception.class, () -> write(file, tensors, DataType.FLOAT32));
            assertFalse(Files.exists(file));
            try (Stream<Path> files = Files.list(tmp)) {
                assertEquals(0, files.count(), "temporary file removed");
            }
        }
    }

    @Test
    void rejectsNonFloatSaveTypes() {
        try (NDManager manager = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Map.of("a", manager.ones(new Shape(2)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> write(tmp.resolve("x.safetensors"), tensors, DataType.INT32));
            assertTrue(e.getMessage().contains("save type"), e.getMessage());
        }
    }

    private static long write(Path file, Map<String, NDArray> tensors, DataType saveType) throws Exception {
        return SafetensorsWriter.write(AtomicFileWriter.UNOBSERVED, file, SafetensorsWriter.entries(tensors, saveType),
                SafetensorsWriter.PT_METADATA);
    }
}
