package org.agentflan.launch.submit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.BeanDescription;
import tools.jackson.databind.DeserializationConfig;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.deser.BeanDeserializerBuilder;
import tools.jackson.databind.deser.ValueDeserializerModifier;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.type.LogicalType;

/**
 * Reads Kubernetes YAML into the fabric8 model classes (the Kubernetes API's own types, generated from its OpenAPI
 * schema), strictly, so that what {@code kubectl apply} would reject or silently drop fails here first:
 *
 * <ul>
 *   <li>an unknown or misspelled field fails. fabric8 collects unknown fields in each object's
 *       {@code additionalProperties} through a Jackson any-setter, which would accept anything; the reader removes
 *       every any-setter, so Jackson's {@code FAIL_ON_UNKNOWN_PROPERTIES} applies and names the field, its path and
 *       the known fields;</li>
 *   <li>a value of the wrong kind fails: no coercion between strings, numbers and booleans (an env value must be a
 *       string, a replica count a number), no null for a number;</li>
 *   <li>each document must be one of the kinds agentflan renders, by {@code apiVersion} and {@code kind}.</li>
 * </ul>
 *
 * The fabric8 8 models are bound with Jackson 3; the YAML is parsed with the project's Jackson 2 YAML reader and handed
 * over as JSON text.
 */
public final class KubernetesSchema {
    private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "v1/ConfigMap", ConfigMap.class,
            "v1/Service", Service.class,
            "batch/v1/Job", Job.class);
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonMapper STRICT = JsonMapper.builder()
            .addModule(new SimpleModule("agentflan-no-any-setter").setDeserializerModifier(new ValueDeserializerModifier() {
                @Override
                public BeanDeserializerBuilder updateBuilder(DeserializationConfig config, BeanDescription.Supplier bean,
                                                             BeanDeserializerBuilder builder) {
                    builder.setAnySetter(null);
                    return builder;
                }
            }))
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES,
                    DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS) // "2" for a number fails
            .withCoercionConfig(LogicalType.Textual, text -> text // 29500 for a string fails
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
            .build();

    private KubernetesSchema() {}

    /**
     * The documents of {@code yaml}, each bound to its model class; {@code source} names the text in messages.
     *
     * @throws InvalidManifest naming the document, the field's path and what is wrong
     */
    public static List<HasMetadata> read(String yaml, String source) {
        List<JsonNode> documents;
        try {
            documents = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml).readAll();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidManifest(source + " is not valid YAML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalStateException("reading a string cannot fail with an I/O error", e);
        }
        List<HasMetadata> objects = new ArrayList<>();
        for (int i = 0; i < documents.size(); i++) {
            objects.add(bind(documents.get(i), source + " document " + (i + 1)));
        }
        return objects;
    }

    private static HasMetadata bind(JsonNode document, String where) {
        String apiVersion = document.path("apiVersion").asText();
        String kind = document.path("kind").asText();
        Class<? extends HasMetadata> type = KINDS.get(apiVersion + "/" + kind);
        if (type == null) {
            throw new InvalidManifest(where + ": apiVersion '" + apiVersion + "' kind '" + kind + "' is not one of "
                    + KINDS.keySet().stream().sorted().toList());
        }
        try {
            return STRICT.readValue(JSON.writeValueAsString(document), type);
        } catch (JacksonException e) {
            throw new InvalidManifest(where + " (" + kind + "): " + e.getOriginalMessage() + " at " + path(e));
        } catch (IOException e) {
            throw new IllegalStateException("a parsed YAML tree always writes as JSON", e);
        }
    }

    /** The field's path as Kubernetes writes it: spec.template.spec.containers[0].env[1].value. */
    private static String path(JacksonException e) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference ref : e.getPath()) {
            if (ref.getPropertyName() != null) {
                path.append(path.length() == 0 ? "" : ".").append(ref.getPropertyName());
            } else {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.length() == 0 ? "the document's top" : path.toString();
    }

    /** A manifest that Kubernetes' schema rejects. */
    public static final class InvalidManifest extends RuntimeException {
        public InvalidManifest(String message) {
            super(message);
        }
    }
}
