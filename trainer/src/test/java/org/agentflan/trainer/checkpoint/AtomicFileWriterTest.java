package org.agentflan.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileWriterTest {
    @TempDir Path dir;

    @Test
    void theFinalNameHoldsNothingUntilTheForcedTemporaryIsRenamed() throws Exception {
        Path target = dir.resolve("a.json");
        List<String> seen = new ArrayList<>();
        AtomicFileWriter files = new AtomicFileWriter((point, path) -> {
            List<Path> temporaries = temporaries();
            seen.add(point + " " + path.getFileName() + " exists=" + Files.exists(path) + " temporaries=" + temporaries.size());
            if (point == SaveObserver.Point.FILE_FORCED) {
                assertEquals("new", Files.readString(temporaries.get(0)), "the temporary holds the whole content");
            }
        });
        files.writeBytes(target, "new".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("FILE_FORCED a.json exists=false temporaries=1", "FILE_IN_PLACE a.json exists=true temporaries=0"),
                seen);
        assertEquals("new", Files.readString(target));
    }

    @Test
    void aFailureLeavesTheOldFileAndNoTemporary() throws Exception {
        Path target = dir.resolve("latest");
        Files.writeString(target, "old");
        AtomicFileWriter failing = new AtomicFileWriter((point, path) -> {
            throw new IOException("stopped at " + point);
        });
        IOException e = assertThrows(IOException.class,
                () -> failing.writeBytes(target, "new".getBytes(StandardCharsets.UTF_8)));
        assertEquals("stopped at FILE_FORCED", e.getMessage());
        assertEquals("old", Files.readString(target));
        assertEquals(List.of(), temporaries());

        assertThrows(IllegalStateException.class, () -> AtomicFileWriter.UNOBSERVED.write(target, channel -> {
            AtomicFileWriter.writeFully(channel, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            throw new IllegalStateException("writer failed half-way");
        }));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void copiesAFileWhole() throws Exception {
        byte[] bytes = new byte[3 << 20];
        new Random(7).nextBytes(bytes);
        Path source = Files.write(dir.resolve("source.bin"), bytes);
        AtomicFileWriter.UNOBSERVED.copy(source, dir.resolve("sub/copy.bin"));
        assertArrayEquals(bytes, Files.readAllBytes(dir.resolve("sub/copy.bin")));
        assertFalse(AtomicFileWriter.isTemporary(dir.resolve("sub/copy.bin")));
    }

    private List<Path> temporaries() throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(AtomicFileWriter::isTemporary).toList();
        }
    }
}
