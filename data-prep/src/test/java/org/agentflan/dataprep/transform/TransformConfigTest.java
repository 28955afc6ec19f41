package org.agentflan.dataprep.transform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.config.ConfigException;
import org.agentflan.config.ConfigLoader;
import org.agentflan.dataprep.source.SourceFormat;
import org.agentflan.dataprep.source.SourceSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Defaults resources are complete, values are validated, and source entries bind from YAML. */
class TransformConfigTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest
    @ValueSource(classes = {FormatAlignmentConfig.class, CapabilityTaggerConfig.class, CapabilityBalancerConfig.class,
            NegativeSamplerConfig.class})
    void defaultsResourceHoldsEveryKeyOfItsRecord(Class<?> type) throws Exception {
        String resource = (String) type.getField("DEFAULTS").get(null);
        Object config = ConfigLoader.load(type, resource, null, List.of());
        JsonNode resolved = ConfigLoader.toTree(config);
        JsonNode yaml;
        try (InputStream in = type.getResourceAsStream(resource)) {
            yaml = YAML.readTree(in);
        }
        List<String> recordKeys = new ArrayList<>();
        resolved.fieldNames().forEachRemaining(recordKeys::add);
        List<String> yamlKeys = new ArrayList<>();
        yaml.fieldNames().forEachRemaining(yamlKeys::add);
        assertEquals(recordKeys.stream().sorted().toList(), yamlKeys.stream().sorted().toList());
    }

    @Test
    void defaultsAreThePapers() {
        CapabilityBalancerConfig b = ConfigLoader.load(CapabilityBalancerConfig.class, CapabilityBalancerConfig.DEFAULTS,
                null, List.of());
        assertEquals(List.of(1.0, 0.25, 0.75), List.of(b.ratio("reasoning"), b.ratio("retrieval"), b.ratio("understanding")));
        FormatAlignmentConfig f = ConfigLoader.load(FormatAlignmentConfig.class, FormatAlignmentConfig.DEFAULTS, null, List.of());
        assertEquals(0.10, f.reactShare());
    }

    @Test
    void badValuesAndKeysAreReportedTogether() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(CapabilityBalancerConfig.class,
                CapabilityBalancerConfig.DEFAULTS, null, List.of("retrieval=1.5", "understanding=-0.1")));
        assertTrue(e.getMessage().contains("capability_balance.retrieval must be a keep ratio in [0, 1], got 1.5"), e.getMessage());
        assertTrue(e.getMessage().contains("capability_balance.understanding"), e.getMessage());
        ConfigException typo = assertThrows(ConfigException.class, () -> ConfigLoader.load(FormatAlignmentConfig.class,
                FormatAlignmentConfig.DEFAULTS, null, List.of("react_shar=0.2")));
        assertTrue(typo.getMessage().contains("unknown key 'react_shar'"), typo.getMessage());
    }

    @Test
    void sourceEntriesBindFromYamlWithWeightDefaultingToOne() throws Exception {
        JsonNode entry = YAML.readTree("name: toolbench\npath: data/toolbench/*.json\nformat: toolbench_raw\n");
        SourceSpec spec = ConfigLoader.bind(SourceSpec.class, entry, "test");
        assertEquals(new SourceSpec("toolbench", "data/toolbench/*.json", SourceFormat.TOOLBENCH_RAW, 1.0), spec);
        ConfigException format = assertThrows(ConfigException.class, () -> ConfigLoader.bind(SourceSpec.class,
                YAML.readTree("name: x\npath: p\nformat: jsonl\n"), "test"));
        assertEquals("format must be one of agent_flan, agent_instruct, toolbench_raw, toolllama, sharegpt; got 'jsonl'",
                format.problems().get(0));
        ConfigException weight = assertThrows(ConfigException.class, () -> ConfigLoader.bind(SourceSpec.class,
                YAML.readTree("name: x\npath: p\nformat: sharegpt\nweight: -1\n"), "test"));
        assertTrue(weight.getMessage().contains("weight must be a finite number >= 0, got -1.0"), weight.getMessage());
    }
}
