package org.agentflan.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    enum Init { TINY, LLAMA2_7B, HF }

    record Optimizer(double lr, List<Double> betas) {}

    record Item(String name, double weight) {}

    record Sample(String name, int steps, long budget, boolean shuffle, Init init, Optimizer optimizer,
                  List<String> tags, List<Item> items) implements Validatable {
        @Override
        public List<String> problems() {
            List<String> p = new ArrayList<>();
            if (steps <= 0) p.add("steps must be > 0, got " + steps);
            if (optimizer.lr() <= 0) p.add("optimizer.lr must be > 0, got " + optimizer.lr());
            if (init == Init.HF && name.equals("tiny")) p.add("set name when init is hf");
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i).weight() < 0) p.add("items[" + i + "].weight must be >= 0, got " + items.get(i).weight());
            }
            return p;
        }
    }

    private static final String DEFAULTS = "sample-defaults.yaml";
    private static final String INITS = "tiny, llama2_7b, hf";
    @TempDir Path dir;

    private Path yaml(String text) throws IOException {
        Path f = dir.resolve("c.yaml");
        Files.writeString(f, text);
        return f;
    }

    private Sample load(String text, String... overrides) throws IOException {
        return ConfigLoader.load(Sample.class, DEFAULTS, yaml(text), List.of(overrides));
    }

    private ConfigException invalid(String text, String... overrides) {
        return assertThrows(ConfigException.class, () -> load(text, overrides));
    }

    /** The file's path as the messages print it, e.g. "/tmp/x/c.yaml line 3". */
    private String line(int n) {
        return dir.resolve("c.yaml") + " line " + n;
    }

    @Test
    void defaultsThenFileThenOverrides() throws IOException {
        Sample s = load("steps: 20\ninit: llama2_7b\noptimizer:\n  lr: 0.5\n", "optimizer.betas=[0.8, 0.9]", "name=run1");
        assertEquals(new Sample("run1", 20, 5_000_000_000L, true, Init.LLAMA2_7B, new Optimizer(0.5, List.of(0.8, 0.9)),
                List.of(), List.of()), s);
        assertEquals(s, ConfigLoader.load(Sample.class, DEFAULTS, null, List.of("steps=20", "init=llama2_7b",
                "optimizer.lr=0.5", "optimizer.betas=[0.8, 0.9]", "name=run1")));
    }

    @Test
    void everyUnknownKeyIsNamedAtOnceWithItsLineAndTheClosestKey() throws IOException {
        ConfigException e = invalid("stepz: 3\noptimizer:\n  lrr: 1\nlr: 2\n", "optimizer.beta=1");
        assertEquals(List.of(
                line(1) + ": unknown key 'stepz' (did you mean 'steps'?); known keys here: name, steps, budget, shuffle,"
                        + " init, optimizer, tags, items",
                line(3) + ": unknown key 'optimizer.lrr' (did you mean 'lr'?); known keys here: lr, betas",
                line(4) + ": unknown key 'lr' (did you mean 'optimizer.lr'?); known keys here: name, steps, budget,"
                        + " shuffle, init, optimizer, tags, items",
                "--set optimizer.beta=1: unknown key 'optimizer.beta' (did you mean 'betas'?); known keys here: lr, betas"),
                e.problems());
        assertTrue(e.getMessage().startsWith("invalid config " + dir.resolve("c.yaml")), e.getMessage());
    }

    @Test
    void enumsTakeTheirLowercaseNamesAndNameTheAllowedOnes() throws IOException {
        assertEquals(Init.HF, load("name: big\ninit: hf\n").init());
        assertEquals(List.of(line(2) + ": init must be one of " + INITS + "; got 'gpt'"),
                invalid("name: big\ninit: gpt\n").problems());
        assertEquals(List.of("--set init=HF: init must be one of " + INITS + "; got 'HF'"),
                invalid("name: big\n", "init=HF").problems());
        ConfigException number = invalid("init: 7\n");
        assertEquals(List.of(line(1) + ": init must be one of " + INITS + "; got 7"), number.problems());
    }

    @Test
    void resolvedConfigWritesEnumsAsTheyAreRead() throws IOException {
        JsonNode tree = ConfigLoader.toTree(load("name: big\ninit: llama2_7b\n"));
        assertEquals("llama2_7b", tree.get("init").textValue());
        assertEquals(Init.LLAMA2_7B, ConfigLoader.bind(Sample.class, tree, "saved").init());
    }

    @Test
    void unknownKeysAndBadValuesAndRecordChecksAreReportedTogetherInFileOrder() throws IOException {
        ConfigException e = invalid("init: gpt\nsteps: 0\nshufle: true\noptimizer:\n  lr: -1\n  betas: [0.9, fast]\n");
        assertEquals(List.of(
                line(1) + ": init must be one of " + INITS + "; got 'gpt'",
                line(2) + ": steps must be > 0, got 0",
                line(3) + ": unknown key 'shufle' (did you mean 'shuffle'?); known keys here: name, steps, budget, shuffle,"
                        + " init, optimizer, tags, items",
                line(5) + ": optimizer.lr must be > 0, got -1.0",
                line(6) + ": optimizer.betas[1] must be a number, got 'fast'"), e.problems());
    }

    @Test
    void aMalformedValueIsCheckedAsItsDefaultSoOtherChecksStillRun() throws IOException {
        // steps: 2.7 is reported once (not again as "steps must be > 0"), and optimizer.lr still gets its check.
        ConfigException e = invalid("steps: 2.7\n", "optimizer.lr=-1");
        assertEquals(List.of(line(1) + ": steps must be a whole number, got 2.7",
                "--set optimizer.lr=-1: optimizer.lr must be > 0, got -1.0"), e.problems());
    }

    @Test
    void aFractionIsNotAWholeNumber() throws IOException {
        assertEquals(List.of(line(1) + ": steps must be a whole number, got 2.7"), invalid("steps: 2.7\n").problems());
        assertEquals(List.of("--set budget=1.5e-3: budget must be a whole number, got 1.5e-3"),
                invalid("", "budget=1.5e-3").problems());
        assertEquals(List.of(line(1) + ": steps must be a whole number from -2147483648 to 2147483647, got 3000000000"),
                invalid("steps: 3000000000\n").problems());
        assertEquals(List.of(line(1) + ": steps must be a whole number, got '7'"), invalid("steps: '7'\n").problems());
        Sample whole = load("steps: 2.0\nbudget: 6e9\n");
        assertEquals(2, whole.steps());
        assertEquals(6_000_000_000L, whole.budget());
    }

    @Test
    void nonFiniteNumbersAreErrors() throws IOException {
        for (String v : List.of("1e400", "-1e400", ".inf", "-.inf", "+.inf", ".nan", ".NaN")) {
            assertEquals(List.of(line(2) + ": optimizer.lr must be a finite number, got " + v),
                    invalid("optimizer:\n  lr: " + v + "\n").problems(), v);
        }
        assertEquals(List.of(line(2) + ": optimizer.betas[1] must be a finite number, got .nan"),
                invalid("optimizer:\n  betas: [0.9, .nan]\n").problems());
        assertEquals(List.of("--set optimizer.lr=1e400: optimizer.lr must be a finite number, got 1e400"),
                invalid("", "optimizer.lr=1e400").problems());
        // A word such as "inf" is text, not a number.
        assertEquals(List.of(line(1) + ": budget must be a whole number, got 'inf'"), invalid("budget: inf\n").problems());
    }

    @Test
    void duplicateKeysAreErrorsWithBothLines() throws IOException {
        ConfigException e = invalid("steps: 3\noptimizer:\n  lr: 0.1\n  lr: 0.2\nsteps: 4\n");
        assertEquals(List.of(
                line(4) + ": duplicate key 'optimizer.lr' (first at line 3); a key may appear once per mapping",
                line(5) + ": duplicate key 'steps' (first at line 1); a key may appear once per mapping"), e.problems());
    }

    @Test
    void booleansTextsAndEmptyValues() throws IOException {
        // Text keeps what was written, even when YAML would read it as a number or a boolean.
        assertEquals("007", load("name: 007\n").name());
        assertEquals("yes", load("name: yes\n").name());
        assertEquals("2024", ConfigLoader.load(Sample.class, DEFAULTS, null, List.of("name=2024")).name());
        assertEquals("", ConfigLoader.load(Sample.class, DEFAULTS, null, List.of("name=")).name());
        assertEquals(List.of(line(1) + ": shuffle must be true or false, got 'maybe'"), invalid("shuffle: maybe\n").problems());
        assertEquals(List.of(line(1) + ": steps must be a whole number, got no value"), invalid("steps:\n").problems());
        assertEquals(List.of(line(1) + ": name must be a text value, got a list"), invalid("name: [a]\n").problems());
        assertEquals(List.of(line(1) + ": optimizer must be a mapping of keys, got 'fast'"), invalid("optimizer: fast\n").problems());
        assertEquals(List.of(line(1) + ": tags must be a list, got 'x'"), invalid("tags: x\n").problems());
        // A section whose keys are all commented out keeps its defaults.
        assertEquals(0.001, load("optimizer:\n#  lr: 0.5\n").optimizer().lr());
        assertEquals(10, load("").steps());
    }

    @Test
    void listItemsAreCheckedKeyByKey() throws IOException {
        ConfigException e = invalid("items:\n  - name: a\n    weight: 1\n    colour: red\n  - name: b\n  - plain\n");
        assertEquals(List.of(
                line(4) + ": unknown key 'items[0].colour'; known keys here: name, weight",
                line(5) + ": items[1].weight is missing",
                line(6) + ": items[2] must be a mapping of keys, got 'plain'"), e.problems());
        // An unknown key touches no value, so the item's own checks still run.
        assertEquals(List.of(line(1) + ": unknown key 'items[0].colour'; known keys here: name, weight",
                line(1) + ": items[0].weight must be >= 0, got -1.0"),
                invalid("items: [{name: a, weight: -1, colour: red}]\n").problems());
        assertEquals(List.of(new Item("a", 1), new Item("b", 0.5)),
                load("items: [{name: a, weight: 1}, {name: b, weight: 0.5}]\n").items());
    }

    @Test
    void aliasesAndSecondDocumentsAreRefused() throws IOException {
        assertEquals(List.of(line(2) + ": 'budget' uses the YAML alias *n; aliases are not supported in configs, write the value out"),
                invalid("steps: &n 3\nbudget: *n\n").problems());
        assertEquals(List.of(line(3) + ": a second YAML document (after '---') starts here; a config is one document"),
                invalid("steps: 3\n---\nsteps: 4\n").problems());
    }

    @Test
    void recordChecksWithoutAKeyGetNoPlace() throws IOException {
        ConfigException e = invalid("init: hf\n");
        assertEquals(List.of("set name when init is hf"), e.problems());
    }

    @Test
    void bindChecksATreeAsStrictly() throws IOException {
        ObjectMapper yaml = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.bind(Item.class,
                yaml.readTree("name: a\nweight: 1e400\nsize: 3\n"), "entry"));
        assertEquals(List.of("unknown key 'size'; known keys here: name, weight",
                "weight must be a finite number, got Infinity"), e.problems());
        assertTrue(e.getMessage().startsWith("invalid config entry:"), e.getMessage());
    }

    @Test
    void badYamlAndMissingFileNameTheFile() throws IOException {
        ConfigException bad = invalid("steps: [1,\n");
        assertTrue(bad.getMessage().contains("c.yaml") && bad.getMessage().contains("not valid YAML")
                && bad.getMessage().contains("line 2"), bad.getMessage());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, dir.resolve("nope.yaml"), List.of()));
        assertTrue(missing.getMessage().contains("nope.yaml") && missing.getMessage().contains("not found"));
    }

    @Test
    void malformedOverrides() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Sample.class, DEFAULTS, null, List.of("steps", "tags=[a,", "steps=3")));
        assertEquals(2, e.problems().size(), e.getMessage());
        assertEquals("--set steps: must look like key=value", e.problems().get(0));
        assertTrue(e.problems().get(1).startsWith("--set tags=[a,: the value is not valid YAML"), e.getMessage());
    }
}
