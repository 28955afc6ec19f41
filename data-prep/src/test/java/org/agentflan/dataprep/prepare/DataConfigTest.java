package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.config.ConfigException;
import org.agentflan.config.ConfigLoader;
import org.agentflan.dataprep.source.SourceFormat;
import org.agentflan.dataprep.tokenize.OverLengthPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data config's closed sets are enums, and one run names every problem of a file with its line. */
class DataConfigTest {
    @TempDir Path dir;

    @Test
    void everyProblemOfAFileIsReportedWithItsLine() throws Exception {
        Path file = dir.resolve("data.yaml");
        Files.writeString(file, """
                sources:
                  - {name: a, path: x, format: jsonl, weight: 1}
                  - {name: b, path: y, format: sharegpt, weight: -1, colour: red}
                max_length: 2.5
                over_length: cut
                template:
                  name: agent-flan
                  eos: maybe
                capability_balance:
                  retrieval: 1.5
                negatives:
                  enabled: false
                """);
        ConfigException e = assertThrows(ConfigException.class, () -> DataConfig.load(file, List.of()));
        assertEquals(List.of(
                file + " line 2: sources[0].format must be one of agent_flan, agent_instruct, toolbench_raw, toolllama,"
                        + " sharegpt; got 'jsonl'",
                file + " line 3: unknown key 'sources[1].colour'; known keys here: name, path, format, weight",
                file + " line 3: sources[1]: source 'b': weight must be a finite number >= 0, got -1.0",
                file + " line 4: max_length must be a whole number, got 2.5",
                file + " line 5: over_length must be one of drop, truncate_turns; got 'cut'",
                file + " line 8: template.eos must be true or false, got 'maybe'",
                file + " line 10: capability_balance.retrieval must be a keep ratio in [0, 1], got 1.5"), e.problems());
    }

    @Test
    void enumsBindFromTheirLowercaseNamesAndAreWrittenBackSo() {
        DataConfig cfg = DataConfig.load(null, List.of("sources=[{name: s, path: p, format: toolbench_raw}]",
                "over_length=truncate_turns", "negatives.enabled=false"));
        assertEquals(OverLengthPolicy.TRUNCATE_TURNS, cfg.overLength());
        assertEquals(SourceFormat.TOOLBENCH_RAW, cfg.sources().get(0).format());
        assertEquals(1.0, cfg.sources().get(0).weight(), "weight defaults to 1 in a source entry");
        assertEquals("truncate_turns", ConfigLoader.toTree(cfg).get("over_length").textValue());
        assertEquals("toolbench_raw", ConfigLoader.toTree(cfg).get("sources").get(0).get("format").textValue());
    }
}
