package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.InputStream;
import java.util.Map;
import org.agentflan.dataprep.transform.CapabilityBalancerConfig;
import org.agentflan.dataprep.transform.CapabilityTaggerConfig;
import org.agentflan.dataprep.transform.FormatAlignmentConfig;
import org.agentflan.dataprep.transform.NegativeSamplerConfig;
import org.junit.jupiter.api.Test;

/** The data config's transform sections carry exactly the transforms' own defaults (no drift between copies). */
class DataDefaultsTest {
    static JsonNode yaml(Class<?> owner, String resource) throws Exception {
        try (InputStream in = owner.getResourceAsStream(resource)) {
            return new ObjectMapper(new YAMLFactory()).readTree(in);
        }
    }

    @Test
    void transformSectionsEqualTheTransformDefaults() throws Exception {
        JsonNode data = yaml(DataConfig.class, DataConfig.DEFAULTS);
        Map<String, JsonNode> expected = Map.of(
                "format_alignment", yaml(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS),
                "capability_tagging", yaml(CapabilityTaggerConfig.class, CapabilityTaggerConfig.DEFAULTS),
                "capability_balance", yaml(CapabilityBalancerConfig.class, CapabilityBalancerConfig.DEFAULTS),
                "negatives", yaml(NegativeSamplerConfig.class, NegativeSamplerConfig.DEFAULTS));
        expected.forEach((key, tree) -> assertEquals(tree, data.get(key), key));
    }
}
