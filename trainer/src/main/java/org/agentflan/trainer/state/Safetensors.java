package org.agentflan.trainer.state;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Minimal safetensors file IO for trainer state (optimizer moments): an 8-byte little-endian header length, a JSON
 * header ({@code dtype}, {@code shape}, {@code data_offsets} per tensor, optional {@code __metadata__}), then the
 * raw little-endian tensor bytes. Supports F32, F16, I64 and I32.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Safetensors() {}

    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray t = e.getValue();
            long bytes = t.getShape().size() * t.getDataType().getNumOfBytes();
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", code(t.getDataType(), e.getKey()));
            var shape = entry.putArray("shape");
            for (long d : t.getShape().getShape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // keep the data 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            writeFully(ch, head);
            for (NDArray t : tensors.values()) {
                ByteBuffer data = t.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                writeFully(ch, data);
            }
            ch.force(true);
        }
    }

    /** Reads every tensor into {@code manager}, in file order. */
    public static Map<String, NDArray> read(Path file, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            long headerLen = len.flip().getLong();
            if (headerLen <= 0 || headerLen > 100_000_000L || headerLen + 8 > ch.size()) {
                throw new IOException(file + ": not a safetensors file (header length " + headerLen + ")");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBytes, 8, file);
            JsonNode header = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8).trim());
            long dataStart = 8 + headerLen;
            Iterator<Map.Entry<String, JsonNode>> fields = header.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                if (f.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode entry = f.getValue();
                DataType type = type(entry.get("dtype").asText(), file, f.getKey());
                long[] dims = new long[entry.get("shape").size()];
                for (int i = 0; i < dims.length; i++) {
                    dims[i] = entry.get("shape").get(i).asLong();
                }
                long begin = entry.get("data_offsets").get(0).asLong();
                long end = entry.get("data_offsets").get(1).asLong();
                Shape shape = new Shape(dims);
                if (end - begin != shape.size() * type.getNumOfBytes() || dataStart + end > ch.size()) {
                    throw new IOException(file + ": tensor " + f.getKey() + " has offsets [" + begin + ", " + end
                            + ") that do not fit its shape " + shape + " or the file (truncated?)");
                }
                ByteBuffer data = ByteBuffer.allocateDirect((int) (end - begin)).order(ByteOrder.nativeOrder());
                readFully(ch, data, dataStart + begin, file);
                data.flip();
                out.put(f.getKey(), manager.create(data, shape, type));
            }
        }
        return out;
    }

    /** The {@code __metadata__} strings of a file (empty if none). */
    public static Map<String, String> metadata(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            ByteBuffer headerBytes = ByteBuffer.allocate((int) len.flip().getLong());
            readFully(ch, headerBytes, 8, file);
            JsonNode meta = JSON.readTree(new String(headerBytes.array(), StandardCharsets.UTF_8).trim()).get("__metadata__");
            if (meta != null) {
                meta.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
            }
        }
        return out;
    }

    private static String code(DataType type, String name) {
        return switch (type) {
            case FLOAT32 -> "F32";
            case FLOAT16 -> "F16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            default -> throw new IllegalArgumentException("tensor " + name + ": dtype " + type + " not supported");
        };
    }

    private static DataType type(String code, Path file, String name) throws IOException {
        return switch (code) {
            case "F32" -> DataType.FLOAT32;
            case "F16" -> DataType.FLOAT16;
            case "I64" -> DataType.INT64;
            case "I32" -> DataType.INT32;
            default -> throw new IOException(file + ": tensor " + name + " has dtype " + code + ", not supported here");
        };
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException(file + ": truncated (ends at byte " + pos + ")");
            }
            pos += n;
        }
    }
}
