package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.dataprep.tokenize.TestPaths;
import org.agentflan.dataprep.source.SourceSpec;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** Every data recipe in configs/data/ binds, validates and says how to run it. */
class DataConfigFilesTest {
    @Test
    void everyDataRecipeLoadsAndStartsWithItsCommand() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(TestPaths.repoRoot().resolve("configs/data"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 2, files.toString());
        for (Path f : files) {
            DataConfig cfg = DataConfig.load(f, List.of());
            assertFalse(cfg.sources().isEmpty(), f.toString());
            String first = Files.readAllLines(f).get(0);
            assertTrue(first.startsWith("#"), f + " must start with a comment");
            assertTrue(Files.readString(f).contains("agentflan prepare --config configs/data/" + f.getFileName()),
                    f + " must give the command that runs it");
        }
    }

    @Test
    void sampleRecipeInputsExistAndNoFileIsReadTwice() {
        DataConfig cfg = DataConfig.load(TestPaths.repoRoot().resolve("configs/data/sample.yaml"), List.of(
                "tokenizer=" + TestPaths.tokenizer()));
        List<SourceSpec> sources = cfg.sources().stream().map(s -> new SourceSpec(s.name(),
                TestPaths.repoRoot().resolve(s.path()).toString(), s.format(), s.weight())).toList();
        assertEquals(List.of(), PrepareJob.inputProblems(sources, s -> true, new Configuration()));
    }
}
