package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafetensorsReaderTest {

    @Test
    void readsEveryDtypeAsTorchWidensIt() throws Exception {
        JsonNode expected = Fixtures.json("dtypes.expected.json");
        try (NDManager manager = NDManager.newBaseManager();
             SafetensorsReader reader = SafetensorsReader.open(Fixtures.dir().resolve("dtypes.safetensors"))) {
            assertEquals(Map.of("format", "pt"), reader.metadata());
            assertEquals(expected.size(), reader.tensors().size());
            for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode want = e.getValue();
                TensorInfo info = reader.info(name);
                assertEquals(want.get("dtype").asText(), info.dtype().name(), name);
                long[] shape = new long[want.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = want.get("shape").get(i).asLong();
                }
                try (NDArray array = Fixtures.readTensor(reader, name, manager)) {
                    assertEquals(new Shape(shape), array.getShape(), name);
                    if (want.has("f32_bits")) {
                        assertEquals(DataType.FLOAT32, array.getDataType(), name);
                        Fixtures.assertBits(Fixtures.ints(want.get("f32_bits")), array, name);
                    } else {
                        long[] values = new long[want.get("values").size()];
                        for (int i = 0; i < values.length; i++) {
                            values[i] = want.get("values").get(i).asLong();
                        }
                        long[] got = array.getDataType() == DataType.INT64
                                ? array.toLongArray()
                                : java.util.Arrays.stream(array.toIntArray()).asLongStream().toArray();
                        assertArrayEquals(values, got, name);
                    }
                }
            }
        }
    }

    @Test
    void readsF16AsItselfAndTheEngineWidensItTheSame() throws Exception {
        JsonNode expected = Fixtures.json("dtypes.expected.json").get("f16.matrix").get("f32_bits");
        try (NDManager manager = NDManager.newBaseManager();
             SafetensorsReader reader = SafetensorsReader.open(Fixtures.dir().resolve("dtypes.safetensors"))) {
            NDArray half = Fixtures.readTensor(reader, "f16.matrix", manager, DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, half.getDataType());
            Fixtures.assertBits(Fixtures.ints(expected), half.toType(DataType.FLOAT32, false), "f16.matrix via engine");
        }
    }

    @Test
    void refusesConversionsItDoesNotDoAndNamesMissingTensors() throws Exception {
        // BF16 is read only as FLOAT32 (a BF16 destination array cannot even exist on CPU: DJL aborts the JVM).
        try (NDManager manager = NDManager.newBaseManager();
             SafetensorsReader reader = SafetensorsReader.open(Fixtures.dir().resolve("dtypes.safetensors"))) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> Fixtures.readTensor(reader, "i64.values", manager, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("i64.values") && e.getMessage().contains("cannot read I64 as float32"),
                    e.getMessage());
            assertTrue(assertThrows(CheckpointFormatException.class, () -> Fixtures.readTensor(reader, "nope", manager))
                    .getMessage().contains("'nope'"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "truncated, 'b', 'run past the data section'",
        "header_past_end, '', 'runs past the end of the file'",
        "bad_json, '', 'not valid JSON'",
        "offsets_out_of_range, 'b', 'run past the data section'",
        "overlap, 'b', 'overlap tensor ''a'''",
        "size_mismatch, 'a', 'needs 32'",
        "unknown_dtype, 'a', 'unsupported dtype ''Q4'''",
        "hole, 'b', 'leaving a hole'",
        "not_safetensors, '', 'not a plausible safetensors header'",
    })
    void corruptFilesFailNamingFileAndTensor(String file, String tensor, String problem) {
        Path path = Fixtures.dir().resolve("corrupt").resolve(file + ".safetensors");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsReader.open(path));
        String message = e.getMessage();
        assertTrue(message.startsWith(path.toString()), message);
        if (!tensor.isEmpty()) {
            assertTrue(message.contains("tensor '" + tensor + "'"), message);
        }
        assertTrue(message.contains(problem), message);
    }

    @Test
    void halfConversionsRoundTripEveryHalfValue() {
        // Every 16-bit pattern widened and narrowed back through the whole-buffer conversions the reader and writer use.
        int n = 1 << 16;
        ByteBuffer patterns = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int h = 0; h < n; h++) {
            patterns.putShort((short) h);
        }
        for (SafetensorsDType type : new SafetensorsDType[] {SafetensorsDType.F16, SafetensorsDType.BF16}) {
            ByteBuffer wide = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
            FloatBits.toFloat32(type, patterns.clear(), wide, 0, n);
            ByteBuffer back = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
            FloatBits.fromFloat32(type, wide.clear(), 0, back, n);
            for (int h = 0; h < n; h++) {
                String what = type + " 0x" + Integer.toHexString(h);
                int narrowed = back.getShort(2 * h) & 0xffff;
                if (!Float.isNaN(wide.getFloat(4 * h))) {
                    assertEquals(h, narrowed, what);
                } else if (type == SafetensorsDType.F16) {
                    assertEquals(0x7e00, narrowed & 0x7fff, "NaN " + what); // quiet NaN, sign kept, as in c10
                } else {
                    assertEquals(0x7fc0, narrowed, "NaN " + what); // every NaN becomes 0x7fc0, as in c10
                }
            }
        }
    }
}
