package org.agentflan.trainer.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files the way Hugging Face's writer lays them out: data ordered by element size then name,
 * compact JSON header padded with spaces to 8 bytes, {@code __metadata__ {"format":"pt"}}.
 *
 * <p>Tensors are written from a view of each array's own memory (no copy when the stored type equals the array's);
 * narrowing to F16/BF16 goes through one small staging array per tensor. Files appear atomically (see {@link AtomicFileWriter}).
 */
public final class SafetensorsWriter {
    /** Metadata HF's PyTorch writer records; loaders such as transformers check it. */
    public static final Map<String, String> PT_METADATA = Map.of("format", "pt");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One tensor to write and the dtype to store it as. */
    public record Entry(String name, NDArray array, SafetensorsDType dtype) {
        public long byteSize() {
            return array.getShape().size() * dtype.bytes();
        }
    }

    private SafetensorsWriter() {}

    /**
     * Entries for named arrays: floating arrays stored as {@code saveType} (FLOAT32, FLOAT16 or BFLOAT16, rounding to
     * nearest even), other arrays as their own type.
     */
    public static List<Entry> entries(Map<String, NDArray> tensors, DataType saveType) {
        SafetensorsDType floatType = SafetensorsDType.of(saveType);
        if (!floatType.isFloat() || floatType == SafetensorsDType.F64) {
            throw new IllegalArgumentException("save type must be FLOAT32, FLOAT16 or BFLOAT16, not " + saveType);
        }
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            DataType type = e.getValue().getDataType();
            SafetensorsDType stored = type.isFloating() ? floatType : SafetensorsDType.of(type);
            entries.add(new Entry(e.getKey(), e.getValue(), stored));
        }
        return entries;
    }

    /** Writes entries with the given metadata through {@code files}; returns the file size in bytes. */
    public static long write(AtomicFileWriter files, Path file, List<Entry> entries, Map<String, String> metadata)
            throws IOException {
        List<Entry> ordered = new ArrayList<>(entries);
        // HF orders data by alignment (element size, largest first) and then by name.
        ordered.sort(Comparator.comparingInt((Entry e) -> -e.dtype().bytes()).thenComparing(Entry::name));
        byte[] header = header(ordered, metadata);
        long dataBytes = 0;
        for (Entry e : ordered) {
            dataBytes += e.byteSize();
        }
        long total = 8 + header.length + dataBytes;
        files.write(file, channel -> {
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            AtomicFileWriter.writeFully(channel, prefix);
            for (Entry e : ordered) {
                writeTensor(channel, e);
            }
            if (channel.position() != total) {
                throw new IllegalStateException(file + ": wrote " + channel.position() + " bytes, expected " + total);
            }
        });
        return total;
    }

    static byte[] header(List<Entry> ordered, Map<String, String> metadata) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.getFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            if (metadata != null && !metadata.isEmpty()) {
                g.writeObjectFieldStart("__metadata__");
                for (Map.Entry<String, String> m : new LinkedHashMap<>(metadata).entrySet()) {
                    g.writeStringField(m.getKey(), m.getValue());
                }
                g.writeEndObject();
            }
            long offset = 0;
            for (Entry e : ordered) {
                g.writeObjectFieldStart(e.name());
                g.writeStringField("dtype", e.dtype().name());
                g.writeArrayFieldStart("shape");
                for (long d : e.array().getShape().getShape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + e.byteSize());
                g.writeEndArray();
                g.writeEndObject();
                offset += e.byteSize();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padding = (8 - out.size() % 8) % 8;
        for (int i = 0; i < padding; i++) {
            out.write(' ');
        }
        return out.toByteArray();
    }

    private static void writeTensor(FileChannel channel, Entry e) throws IOException {
        NDArray array = e.array();
        if (array.getShape().size() == 0) {
            return;
        }
        if (!array.getDevice().equals(Device.cpu())) {
            try (NDArray host = array.toDevice(Device.cpu(), true)) {
                writeTensor(channel, new Entry(e.name(), host, e.dtype()));
                return;
            }
        }
        DataType arrayType = array.getDataType();
        boolean narrowFromFloat32 = arrayType == DataType.FLOAT32
                && (e.dtype() == SafetensorsDType.F16 || e.dtype() == SafetensorsDType.BF16);
        if (!narrowFromFloat32 && e.dtype() != SafetensorsDType.of(arrayType)) {
            // Uncommon combinations (e.g. FLOAT16 array stored as F32): let the engine convert, one tensor at a time.
            DataType via = e.dtype() == SafetensorsDType.BF16 ? DataType.FLOAT32 : e.dtype().nativeDjlType();
            try (NDArray converted = array.toType(via, true)) {
                writeTensor(channel, new Entry(e.name(), converted, e.dtype()));
                return;
            }
        }
        long arrayBytes = array.getShape().size() * arrayType.getNumOfBytes();
        if (arrayBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + e.name() + "' is " + arrayBytes + " bytes; tensors above"
                    + " 2 GiB are not supported (DJL exposes an array's memory as one ByteBuffer)");
        }
        // toByteBuffer(true) on a contiguous CPU array is a view of the array's own memory, not a copy
        // (DJL hands a non-contiguous array's bytes as a contiguous copy owned by the array's manager).
        ByteBuffer view = array.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        if (!narrowFromFloat32) {
            AtomicFileWriter.writeFully(channel, view);
            return;
        }
        // The staging buffer is a native array freed right after this tensor, not a Java direct buffer that would
        // linger until a garbage collection (repeated saves would pile them up).
        int perChunk = SafetensorsReader.CHUNK_BYTES / e.dtype().bytes();
        long total = array.getShape().size();
        try (NDArray stagingArray = array.getManager().create(
                new Shape(Math.min(total, perChunk) * e.dtype().bytes()), DataType.INT8)) {
            ByteBuffer staging = stagingArray.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < total; ) {
                int count = (int) Math.min(perChunk, total - done);
                staging.clear();
                FloatBits.fromFloat32(e.dtype(), view, (int) done, staging, count);
                staging.limit(count * e.dtype().bytes());
                AtomicFileWriter.writeFully(channel, staging);
                done += count;
            }
        }
    }
}
