package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;

/**
 * Checkpoint code depends on the model, never the reverse: no compiled class of the {@code model} package refers to
 * a class of {@code checkpoint}. Read from the class files' constant pools (every class a class uses is named there,
 * imported or fully qualified), not from import lines.
 */
class DependencyDirectionTest {
    private static final Pattern CHECKPOINT_CLASS = Pattern.compile("org/agentflan/trainer/checkpoint/[A-Za-z0-9_$]+");

    @Test
    void noModelClassRefersToTheCheckpointPackage() throws Exception {
        Path modelClasses = Path.of(LlamaModel.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("org/agentflan/trainer/model");
        List<Path> classFiles;
        try (Stream<Path> files = Files.walk(modelClasses)) {
            classFiles = files.filter(p -> p.toString().endsWith(".class")).sorted().toList();
        }
        assertTrue(classFiles.stream().anyMatch(p -> p.getFileName().toString().equals("LlamaModel.class")),
                "expected the compiled model package in " + modelClasses + ", found " + classFiles);

        List<String> references = new ArrayList<>();
        for (Path classFile : classFiles) {
            // Class names in the constant pool are modified UTF-8, identical to ISO-8859-1 bytes for ASCII names.
            Matcher m = CHECKPOINT_CLASS.matcher(new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1));
            while (m.find()) {
                references.add(classFile.getFileName() + " -> " + m.group());
            }
        }
        assertEquals(List.of(), references, "the model package must not depend on the checkpoint package");
    }
}
