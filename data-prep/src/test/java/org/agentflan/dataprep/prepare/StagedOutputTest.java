package org.agentflan.dataprep.prepare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing beside a corpus and swapping it in, on the real local file system through Hadoop. */
class StagedOutputTest {
    @TempDir Path dir;

    private static Path local(String staging) {
        return Path.of(java.net.URI.create(staging));
    }

    private List<String> entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aCompleteCorpusReplacesTheOldOneWhole() throws IOException {
        Path out = Files.createDirectories(dir.resolve("corpus/shards"));
        Files.writeString(out.resolve("old-part"), "old");
        Files.writeString(dir.resolve("corpus/manifest.json"), "old");
        StagedOutput staged = StagedOutput.begin(new Configuration(), dir.resolve("corpus").toString());
        Path staging = local(staged.path());
        assertEquals(dir, staging.getParent(), "staged beside the output");
        assertTrue(staging.getFileName().toString().startsWith("corpus.tmp-"), staging.toString());
        Files.createDirectories(staging.resolve("shards"));
        Files.writeString(staging.resolve("shards/new-part"), "new");
        Files.writeString(staging.resolve("manifest.json"), "new");
        assertEquals("old", Files.readString(dir.resolve("corpus/manifest.json")), "nothing changes before the swap");

        staged.commit();
        assertEquals("new", Files.readString(dir.resolve("corpus/manifest.json")));
        assertEquals(List.of("new-part"), Files.list(dir.resolve("corpus/shards")).map(p -> p.getFileName().toString()).toList());
        assertEquals(List.of("corpus"), entries(), "no staging or set-aside folder stays behind");
    }

    @Test
    void anAbandonedRunLeavesTheOldCorpusAndNoStagingFolder() throws IOException {
        Files.createDirectories(dir.resolve("corpus"));
        Files.writeString(dir.resolve("corpus/manifest.json"), "old");
        StagedOutput staged = StagedOutput.begin(new Configuration(), dir.resolve("corpus").toString());
        Files.createDirectories(local(staged.path()).resolve("shards"));
        assertTrue(staged.replacesExisting());
        staged.abandon();
        assertEquals(List.of("corpus"), entries());
        assertEquals("old", Files.readString(dir.resolve("corpus/manifest.json")));
    }

    @Test
    void aFirstRunNeedsNoPreviousCorpus() throws IOException {
        StagedOutput staged = StagedOutput.begin(new Configuration(), dir.resolve("new/corpus").toString());
        assertFalse(staged.replacesExisting());
        Files.createDirectories(local(staged.path()));
        Files.writeString(local(staged.path()).resolve("manifest.json"), "first");
        staged.commit();
        assertEquals("first", Files.readString(dir.resolve("new/corpus/manifest.json")));
    }

    @Test
    void onlyAFolderHoldingACorpusMayBeReplaced() throws IOException {
        Path out = Files.createDirectories(dir.resolve("corpus"));
        Files.createDirectories(out.resolve("shards"));
        Files.createDirectories(out.resolve("rejects"));
        Files.writeString(out.resolve("manifest.json"), "{}");
        Files.writeString(out.resolve(".manifest.json.crc"), "checksum Hadoop's local file system writes");
        StagedOutput.begin(new Configuration(), out.toString());

        Files.writeString(out.resolve("thesis.tex"), "mine");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StagedOutput.begin(new Configuration(), out.toString()));
        assertTrue(e.getMessage().contains("holds 'thesis.tex', which is not part of a corpus"), e.getMessage());
        IllegalArgumentException file = assertThrows(IllegalArgumentException.class,
                () -> StagedOutput.begin(new Configuration(), out.resolve("thesis.tex").toString()));
        assertTrue(file.getMessage().contains("is a file"), file.getMessage());
        assertNull(StagedOutput.notReplaceable(org.apache.hadoop.fs.FileSystem.getLocal(new Configuration()),
                new org.apache.hadoop.fs.Path(dir.resolve("absent").toString())));
    }
}
