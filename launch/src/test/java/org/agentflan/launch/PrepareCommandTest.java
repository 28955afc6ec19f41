package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code agentflan prepare} as a user runs it: how a failed run reports and what it leaves in the output. */
class PrepareCommandTest {
    private static final String TOKENIZER = Path.of("../sample-data/llama2-tokenizer").toAbsolutePath().normalize().toString();
    @TempDir Path dir;

    @Test
    void aRunThatFailsSaysWhyInOneLineAndLeavesThePreviousCorpus() throws Exception {
        // A previous corpus (its contents do not matter to prepare, only that it is one).
        Path out = Files.createDirectories(dir.resolve("corpus"));
        Files.createDirectories(out.resolve("shards"));
        Files.writeString(out.resolve("shards/part-00000.zstd.parquet"), "rows");
        Files.writeString(out.resolve("manifest.json"), "{\"format_version\": 1}");
        Path config = dir.resolve("data.yaml");
        Files.writeString(config, "sources:\n"
                + "  - {name: remote, path: 'nosuch://host/data.jsonl', format: agent_flan, weight: 1.0}\n"
                + "negatives: {enabled: false}\n");

        CliRun run = CliRun.of("prepare", "--config", config.toString(), "--set", "tokenizer=" + TOKENIZER,
                "--set", "output=" + out);
        assertEquals(2, run.code(), run.err());
        String err = run.err().strip();
        assertFalse(err.contains("\n"), "one line, no stack trace: " + err);
        assertTrue(err.startsWith("error: prepare failed, " + out + " still holds the previous corpus: "), err);
        assertTrue(err.contains("nosuch"), err);
        assertEquals("{\"format_version\": 1}", Files.readString(out.resolve("manifest.json")));
        assertEquals("rows", Files.readString(out.resolve("shards/part-00000.zstd.parquet")));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no staging folder left beside the corpus");
        }
    }
}
