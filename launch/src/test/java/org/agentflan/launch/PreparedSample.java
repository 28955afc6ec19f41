package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

/** The bundled sample corpus prepared by the real {@code prepare} command, for tests that train on it. */
final class PreparedSample {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path TOKENIZER = ROOT.resolve("sample-data/llama2-tokenizer");

    private PreparedSample() {}

    /** Runs {@code prepare} on configs/data/sample.yaml into {@code folder}/data and returns that folder. */
    static Path into(Path folder) throws Exception {
        Path yaml = folder.resolve("sample.yaml");
        Files.writeString(yaml, Files.readString(ROOT.resolve("configs/data/sample.yaml"))
                .replace("path: sample-data/", "path: " + ROOT + "/sample-data/"));
        Path data = folder.resolve("data");
        CliRun prepared = CliRun.of("prepare", "--config", yaml.toString(), "--set", "output=" + data,
                "--set", "tokenizer=" + TOKENIZER);
        assertEquals(0, prepared.code(), prepared.out() + prepared.err());
        return data;
    }
}
