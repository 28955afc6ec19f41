package org.agentflan.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    record Optimizer(double lr, List<Double> betas) {}

    record Sample(String name, int steps, Optimizer optimizer, List<String> tags) implements Validatable {
        @Override
        public List<String> problems() {
            List<String> p = new ArrayList<>();
            if (steps <= 0) p.add("steps must be > 0, got " + steps);
            if (optimizer.lr() <= 0) p.add("optimizer.lr must be > 0, got " + optimizer.lr());
            return p;
        }
    }

    private static final String DEFAULTS = "sample-defaults.yaml";
    @TempDir Path dir;

    private Path yaml(String text) throws IOException {
        Path f = dir.resolve("c.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void defaultsThenFileThenOverrides() throws IOException {
        Sample s = ConfigLoader.load(Sample.class, DEFAULTS, yaml("steps: 20\noptimizer:\n  lr: 0.5\n"),
                List.of("optimizer.betas=[0.8, 0.9]", "name=run1"));
        assertEquals(new Sample("run1", 20, new Optimizer(0.5, List.of(0.8, 0.9)), List.of()), s);
    }

    @Test
    void everyUnknownKeyIsNamedAtOnce() throws IOException {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Sample.class, DEFAULTS,
                yaml("stepz: 3\noptimizer:\n  lrr: 1\n"), List.of("optimizer.beta=1")));
        assertEquals(3, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("unknown key 'stepz' (did you mean 'steps'?)"), e.getMessage());
        assertTrue(e.getMessage().contains("unknown key 'optimizer.lrr'"), e.getMessage());
        assertTrue(e.getMessage().contains("--set optimizer.beta=1: unknown key 'optimizer.beta'"), e.getMessage());
        assertTrue(e.getMessage().contains("c.yaml"), e.getMessage());
    }

    @Test
    void wrongTypeNamesTheKey() throws IOException {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, yaml("optimizer:\n  lr: fast\n"), List.of()));
        assertTrue(e.getMessage().contains("key 'optimizer.lr'"), e.getMessage());
    }

    @Test
    void validationProblemsAreAllReported() throws IOException {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, yaml("steps: 0\n"), List.of("optimizer.lr=-1")));
        assertEquals(List.of("steps must be > 0, got 0", "optimizer.lr must be > 0, got -1.0"), e.problems());
    }

    @Test
    void badYamlAndMissingFileNameTheFile() throws IOException {
        ConfigException bad = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, yaml("steps: [1,\n"), List.of()));
        assertTrue(bad.getMessage().contains("c.yaml") && bad.getMessage().contains("not valid YAML"), bad.getMessage());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, dir.resolve("nope.yaml"), List.of()));
        assertTrue(missing.getMessage().contains("nope.yaml") && missing.getMessage().contains("not found"));
    }

    @Test
    void malformedOverride() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, null, List.of("steps")));
        assertTrue(e.getMessage().contains("must look like key=value"), e.getMessage());
    }
}
