package org.agentflan.dataprep.tokenize;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the bundled sample data, found from the module directory Maven runs tests in. */
public final class TestPaths {
    private TestPaths() {}

    public static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("sample-data"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("sample-data/ not found above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    public static Path tokenizer() {
        return repoRoot().resolve("sample-data/llama2-tokenizer");
    }
}
