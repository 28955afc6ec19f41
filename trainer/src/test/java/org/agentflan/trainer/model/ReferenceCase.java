package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One case written by {@code scripts/reference/llama_reference.py}: a tiny checkpoint, a packed batch and goldens. */
final class ReferenceCase {
    final Path dir;
    final LlamaConfig config;
    final JsonNode golden;

    private ReferenceCase(Path dir) throws IOException {
        this.dir = dir;
        this.config = LlamaConfig.read(dir.resolve("model/config.json"));
        this.golden = new ObjectMapper().readTree(dir.resolve("golden.json").toFile());
    }

    static ReferenceCase load(String name) throws IOException {
        return new ReferenceCase(resource(name));
    }

    static Path resource(String name) {
        try {
            return Path.of(ReferenceCase.class.getResource("/reference/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    Path modelDir() {
        return dir.resolve("model");
    }

    /** The stored weights as the reference saw them (rounded to the checkpoint dtype, upcast to fp32). */
    Map<String, NDArray> weights(NDManager manager) {
        Map<String, NDArray> weights = new LinkedHashMap<>();
        Map<String, long[]> shapes = config.parameterShapes();
        Iterator<Map.Entry<String, JsonNode>> fields = golden.get("weights").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            weights.put(field.getKey(), manager.create(floats(field.getValue()), new Shape(shapes.get(field.getKey()))));
        }
        return weights;
    }

    /**
     * A model over the stored weights: allocated as a checkpoint load does ({@code HfCheckpoint.loadModel}), then
     * each parameter filled from the golden values; the golden weights must name exactly the config's parameters.
     */
    LlamaModel model(NDManager manager) {
        LlamaModel model = LlamaModel.allocate(config, manager);
        JsonNode weights = golden.get("weights");
        List<String> stored = new ArrayList<>();
        weights.fieldNames().forEachRemaining(stored::add);
        if (!stored.equals(new ArrayList<>(model.parameters().keySet()))) {
            model.close();
            throw new IllegalStateException(dir + "/golden.json: weights " + stored + " are not the config's parameters "
                    + model.parameters().keySet());
        }
        model.parameters().forEach((name, parameter) -> parameter.set(floats(weights.get(name))));
        return model;
    }

    float[] grad(String name) {
        return floats(golden.get("grads").get(name));
    }

    float[] logits() {
        return floats(golden.get("logits"));
    }

    NDArray longs2d(NDManager manager, String key, DataType type) {
        JsonNode rows = golden.get(key);
        int b = rows.size();
        int t = rows.get(0).size();
        long[] values = new long[b * t];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                values[i * t + j] = rows.get(i).get(j).asLong();
            }
        }
        return manager.create(values, new Shape(b, t)).toType(type, false);
    }

    static float[] floats(JsonNode array) {
        float[] values = new float[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) array.get(i).asDouble();
        }
        return values;
    }

    /** ||actual - expected|| / ||expected||, in double precision. */
    static double relativeL2(float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError("length " + actual.length + " != " + expected.length);
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            diff += d * d;
            norm += (double) expected[i] * expected[i];
        }
        return Math.sqrt(diff) / Math.sqrt(norm);
    }
}
