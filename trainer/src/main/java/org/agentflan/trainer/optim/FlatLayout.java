package org.agentflan.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters laid end to end in one flat space, as ZeRO stage 1 partitions them: parameter after parameter in the
 * model's order ({@code LlamaModel.parameters()}), each flattened row-major, so parameter {@code p} occupies
 * {@code [offset(p), offset(p) + numel(p))}. The space is padded with zeros at its end to {@code world x slice}
 * elements, {@code slice = ceil(total / world)}, and rank {@code r} owns {@code [r x slice, (r + 1) x slice)}: one
 * contiguous slice per rank, split on element boundaries (a parameter may straddle two ranks), the padding (fewer
 * than {@code world} elements) all in the last rank's slice. The layout depends only on the parameters' shapes and the
 * world size, so every rank computes the same one, and a checkpoint that records it ({@link #toJson}) can be
 * re-sliced for any other world size.
 */
public final class FlatLayout {
    /** One parameter's place in the flat space. */
    public record Entry(String name, Shape shape, long offset, long numel) {}

    /**
     * Elements {@code [from, to)} of parameter {@code name} (row-major), at flat position {@code flatOffset}: the part
     * of the parameter inside a range of the flat space.
     */
    public record Piece(String name, long from, long to, long flatOffset) {
        public long length() {
            return to - from;
        }
    }

    private final List<Entry> entries;
    private final long total;
    private final int world;

    private FlatLayout(List<Entry> entries, int world) {
        if (world < 1) {
            throw new IllegalArgumentException("world size " + world);
        }
        this.entries = List.copyOf(entries);
        this.world = world;
        this.total = entries.isEmpty() ? 0 : entries.get(entries.size() - 1).offset() + entries.get(entries.size() - 1).numel();
    }

    /** The layout of {@code params} (in their map order) over {@code world} ranks. */
    public static FlatLayout of(Map<String, NDArray> params, int world) {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        params.forEach((name, p) -> shapes.put(name, p.getShape()));
        return ofShapes(shapes, world);
    }

    static FlatLayout ofShapes(Map<String, Shape> shapes, int world) {
        List<Entry> entries = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            long numel = e.getValue().size();
            entries.add(new Entry(e.getKey(), e.getValue(), offset, numel));
            offset += numel;
        }
        return new FlatLayout(entries, world);
    }

    /** The same parameters over another number of ranks. */
    public FlatLayout withWorld(int otherWorld) {
        return new FlatLayout(entries, otherWorld);
    }

    public List<Entry> entries() {
        return entries;
    }

    /** Elements of all parameters, without padding. */
    public long total() {
        return total;
    }

    public int world() {
        return world;
    }

    /** Elements per rank: {@code ceil(total / world)}. */
    public long slice() {
        return (total + world - 1) / world;
    }

    /** {@code world x slice}: the flat space with its padding. */
    public long padded() {
        return slice() * world;
    }

    /** The first flat element of {@code rank}'s slice. */
    public long sliceStart(int rank) {
        return rank * slice();
    }

    /** The pieces of parameters inside {@code rank}'s slice, in flat order (the padding belongs to no parameter). */
    public List<Piece> piecesOf(int rank) {
        return pieces(sliceStart(rank), sliceStart(rank) + slice());
    }

    /** The pieces of parameters inside the flat range {@code [from, to)}, in flat order. */
    public List<Piece> pieces(long from, long to) {
        List<Piece> out = new ArrayList<>();
        for (Entry e : entries) {
            long start = Math.max(from, e.offset());
            long end = Math.min(to, e.offset() + e.numel());
            if (start < end) {
                out.add(new Piece(e.name(), start - e.offset(), end - e.offset(), start));
            }
        }
        return out;
    }

    /** The layout as JSON: world size, slice, padding and every parameter's shape and offset. */
    public ObjectNode toJson(ObjectMapper json) {
        ObjectNode root = json.createObjectNode();
        root.put("order", "model parameter order, each flattened row-major; zero padding at the end");
        root.put("world_size", world);
        root.put("total_elements", total);
        root.put("slice_elements", slice());
        root.put("padding_elements", padded() - total);
        ArrayNode params = root.putArray("parameters");
        for (Entry e : entries) {
            ObjectNode p = params.addObject();
            p.put("name", e.name());
            ArrayNode shape = p.putArray("shape");
            for (long d : e.shape().getShape()) {
                shape.add(d);
            }
            p.put("offset", e.offset());
            p.put("numel", e.numel());
        }
        return root;
    }

    /** Reads {@link #toJson}'s output; throws IllegalArgumentException naming what is inconsistent. */
    public static FlatLayout fromJson(JsonNode root) {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        long expectedOffset = 0;
        for (JsonNode p : root.path("parameters")) {
            long[] dims = new long[p.path("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = p.path("shape").get(i).asLong();
            }
            Shape shape = new Shape(dims);
            if (p.path("offset").asLong(-1) != expectedOffset || p.path("numel").asLong(-1) != shape.size()) {
                throw new IllegalArgumentException("parameter " + p.path("name").asText() + " has offset "
                        + p.path("offset") + " and numel " + p.path("numel") + ", expected " + expectedOffset + " and " + shape.size());
            }
            shapes.put(p.path("name").asText(), shape);
            expectedOffset += shape.size();
        }
        FlatLayout layout = ofShapes(shapes, root.path("world_size").asInt(0));
        if (layout.total() != root.path("total_elements").asLong(-1) || layout.slice() != root.path("slice_elements").asLong(-1)) {
            throw new IllegalArgumentException("total_elements " + root.path("total_elements") + " or slice_elements "
                    + root.path("slice_elements") + " disagree with the parameters (" + layout.total() + ", " + layout.slice() + ")");
        }
        return layout;
    }

    /** Whether {@code other} lays out the same parameters (names, shapes, order), whatever its world size. */
    public boolean sameParameters(FlatLayout other) {
        return entries.equals(other.entries);
    }
}
