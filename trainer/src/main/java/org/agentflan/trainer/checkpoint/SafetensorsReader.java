package org.agentflan.trainer.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one safetensors file tensor by tensor.
 *
 * <p>The header is parsed and every offset validated when the file is opened, so a corrupt or truncated file fails
 * before any weight is read. Tensors are read with positional reads straight into the memory of the DJL array that
 * receives them; F16/BF16 are widened to F32 in place inside that memory. Reading a whole
 * checkpoint therefore needs no memory beyond the arrays themselves, and nothing is memory-mapped (mapped pages
 * would count against the process and could not be handed to a training step that writes the weights in place).
 */
public final class SafetensorsReader implements AutoCloseable {
    /** HF's own reader refuses headers above 100 MB; a larger length means a corrupt file. */
    static final long MAX_HEADER_BYTES = 100L << 20;
    /** Size of staging buffers for conversions that cannot run in place: few syscalls, small next to a tensor. */
    static final int CHUNK_BYTES = 8 << 20;

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsReader(
            Path file, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("safetensors IO assumes a little-endian machine");
        }
    }

    /** Opens a file and validates its header; throws {@link CheckpointFormatException} naming the file and tensor. */
    public static SafetensorsReader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long size = channel.size();
            if (size < 8) {
                throw CheckpointFormatException.of(file, "only " + size + " bytes, too short for a safetensors header");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0, file);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
                throw CheckpointFormatException.of(file, "header length " + Long.toUnsignedString(headerLength)
                        + " is not a plausible safetensors header (corrupt or not a safetensors file)");
            }
            if (8 + headerLength > size) {
                throw CheckpointFormatException.of(file, "header length " + headerLength
                        + " runs past the end of the file (" + size + " bytes): truncated");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8, file);
            long dataSize = size - 8 - headerLength;
            Header header = parseHeader(file, headerBytes.array(), dataSize);
            return new SafetensorsReader(file, channel, 8 + headerLength, header.tensors, header.metadata);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    private static Header parseHeader(Path file, byte[] bytes, long dataSize) throws CheckpointFormatException {
        if (bytes[0] != '{') {
            throw CheckpointFormatException.of(file, "header does not start with '{' (corrupt or not a safetensors file)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw CheckpointFormatException.of(file, "header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw CheckpointFormatException.of(file, "header is not a JSON object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) {
                    throw CheckpointFormatException.of(file, "__metadata__ is not an object of strings");
                }
                for (Iterator<Map.Entry<String, JsonNode>> m = node.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = m.next();
                    if (!e.getValue().isTextual()) {
                        throw CheckpointFormatException.of(file, "__metadata__." + e.getKey() + " is not a string");
                    }
                    metadata.put(e.getKey(), e.getValue().asText());
                }
                continue;
            }
            tensors.put(name, parseTensor(file, name, node, dataSize));
        }
        checkCoverage(file, tensors, dataSize);
        return new Header(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode node, long dataSize)
            throws CheckpointFormatException {
        if (!node.isObject()) {
            throw CheckpointFormatException.of(file, name, "entry is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw CheckpointFormatException.of(file, name, "missing field 'dtype'");
        }
        SafetensorsDType dtype = SafetensorsDType.parse(dtypeNode.asText());
        if (dtype == null) {
            throw CheckpointFormatException.of(file, name, "unsupported dtype '" + dtypeNode.asText() + "'");
        }
        long[] dims = nonNegativeLongs(file, name, node.get("shape"), "shape", -1);
        long[] offsets = nonNegativeLongs(file, name, node.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (end < begin) {
            throw CheckpointFormatException.of(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataSize) {
            throw CheckpointFormatException.of(file, name, "data_offsets [" + begin + ", " + end
                    + "] run past the data section of " + dataSize + " bytes (truncated or corrupt file)");
        }
        long expected;
        try {
            long numel = 1;
            for (long d : dims) {
                numel = Math.multiplyExact(numel, d);
            }
            expected = Math.multiplyExact(numel, (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw CheckpointFormatException.of(file, name, "shape " + new Shape(dims) + " is too large");
        }
        if (end - begin != expected) {
            throw CheckpointFormatException.of(file, name, "data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but shape " + new Shape(dims) + " of " + dtype + " needs " + expected);
        }
        return new TensorInfo(name, dtype, new Shape(dims), begin, end);
    }

    private static long[] nonNegativeLongs(Path file, String name, JsonNode node, String field, int length)
            throws CheckpointFormatException {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            String what = length >= 0 ? "an array of " + length + " integers" : "an array of integers";
            throw CheckpointFormatException.of(file, name, "field '" + field + "' is missing or not " + what);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.canConvertToLong() || !v.isIntegralNumber() || v.asLong() < 0) {
                throw CheckpointFormatException.of(file, name, "field '" + field + "' has a bad value " + v);
            }
            values[i] = v.asLong();
        }
        return values;
    }

    /** The spec requires the data section to be covered exactly: no overlaps, no holes, no trailing bytes. */
    private static void checkCoverage(Path file, Map<String, TensorInfo> tensors, long dataSize)
            throws CheckpointFormatException {
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long position = 0;
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.begin() < position) {
                throw CheckpointFormatException.of(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + "]");
            }
            if (t.begin() > position) {
                throw CheckpointFormatException.of(file, t.name(), "data_offsets start at " + t.begin()
                        + " leaving a hole after byte " + position + " of the data section");
            }
            position = t.end();
            previous = t;
        }
        if (position != dataSize) {
            throw CheckpointFormatException.of(file, (dataSize - position)
                    + " bytes after the last tensor are not described by the header (corrupt file)");
        }
    }

    public Path file() {
        return file;
    }

    /** The {@code __metadata__} map (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensors in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo info(String name) throws CheckpointFormatException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw CheckpointFormatException.of(file, name, "not in this file");
        }
        return t;
    }

    /**
     * Reads a tensor into an existing array of the same shape (FLOAT32 for floating tensors, or the tensor's own
     * type), e.g. a model parameter: no new memory on the CPU, one host copy of the tensor for an accelerator.
     * A CPU destination must be contiguous, as arrays made by an NDManager are.
     */
    public void readInto(String name, NDArray destination) throws IOException {
        TensorInfo t = info(name);
        if (!t.shape().equals(destination.getShape())) {
            throw CheckpointFormatException.of(file, name, "has shape " + t.shape() + " but the destination array has "
                    + destination.getShape());
        }
        checkConversion(t, destination.getDataType());
        if (destination.getDevice().equals(Device.cpu())) {
            fill(t, destination);
            return;
        }
        try (NDManager host = destination.getManager().newSubManager(Device.cpu())) {
            NDArray staged = host.create(t.shape(), destination.getDataType());
            fill(t, staged);
            destination.set(staged.toByteBuffer(true)); // copies to the device
        }
    }

    private void checkConversion(TensorInfo t, DataType target) throws CheckpointFormatException {
        boolean same = t.dtype() != SafetensorsDType.BF16 && t.dtype().nativeDjlType() == target;
        boolean widen = t.dtype().isFloat() && target == DataType.FLOAT32;
        if (!same && !widen) {
            throw CheckpointFormatException.of(file, t.name(), "cannot read " + t.dtype() + " as " + target
                    + " (floating tensors read as FLOAT32, other tensors as their own type)");
        }
    }

    /** Copies the tensor's bytes into a CPU array of matching size, converting to its type where needed. */
    private void fill(TensorInfo t, NDArray out) throws IOException {
        if (t.numel() == 0) {
            return;
        }
        long outBytes = t.numel() * out.getDataType().getNumOfBytes();
        if (outBytes > Integer.MAX_VALUE) {
            throw CheckpointFormatException.of(file, t.name(), "is " + outBytes + " bytes as " + out.getDataType()
                    + "; tensors above 2 GiB are not supported (DJL exposes an array's memory as one ByteBuffer)");
        }
        // toByteBuffer(true) on a contiguous CPU array is a view of the array's own memory, not a copy.
        ByteBuffer view = out.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
        if (!view.isDirect() || view.capacity() != outBytes) {
            throw new IllegalStateException("DJL returned no direct view of the array for " + t.name());
        }
        long position = dataStart + t.begin();
        if (out.getDataType() == t.dtype().nativeDjlType() && t.dtype() != SafetensorsDType.BF16) {
            view.clear();
            readTensorFully(view, position, t);
            return;
        }
        int srcBytes = t.dtype().bytes();
        if (srcBytes < out.getDataType().getNumOfBytes()) {
            // Widen in place: the source bytes go to the tail of the array's own memory and are expanded front to
            // back. Element i lands on [4i, 4i+4), which only covers source elements already read (2n+2k < 4i+4
            // means k <= i), so no staging memory is needed at all.
            int tail = (int) (outBytes - t.byteSize());
            ByteBuffer source = view.duplicate().position(tail).slice().order(ByteOrder.LITTLE_ENDIAN);
            readTensorFully(source, position, t);
            FloatBits.toFloat32(t.dtype(), source.clear(), view.clear(), 0, (int) t.numel());
            return;
        }
        // Narrowing (F64 to F32) needs a staging buffer: a native array freed as soon as this tensor is done,
        // rather than a Java direct buffer that would live until some later garbage collection.
        int perChunk = CHUNK_BYTES / srcBytes;
        long total = t.numel();
        try (NDArray stagingArray = out.getManager().create(
                new Shape(Math.min(total, perChunk) * srcBytes), DataType.INT8)) {
            ByteBuffer staging = stagingArray.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
            for (long done = 0; done < total; ) {
                int count = (int) Math.min(perChunk, total - done);
                staging.clear().limit(count * srcBytes);
                readTensorFully(staging, position + done * srcBytes, t);
                staging.flip();
                FloatBits.toFloat32(t.dtype(), staging, view.clear(), (int) done, count);
                done += count;
            }
        }
    }

    private void readTensorFully(ByteBuffer dst, long position, TensorInfo t) throws IOException {
        try {
            readFully(channel, dst, position, file);
        } catch (EOFException e) {
            throw CheckpointFormatException.of(file, t.name(), "file ended inside the tensor's data (truncated)");
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer dst, long position, Path file) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                throw new EOFException(file + ": unexpected end of file at byte " + at);
            }
            at += n;
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
