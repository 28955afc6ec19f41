package org.agentflan.format;

import java.nio.file.Files;
import java.nio.file.Path;

/** Paths of the bundled sample data (the real Llama-2 tokenizer among them), found above the module directory. */
final class TestPaths {
    private TestPaths() {}

    static Path repoRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("sample-data"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("sample-data/ not found above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    static Path tokenizer() {
        return repoRoot().resolve("sample-data/llama2-tokenizer");
    }
}
