package org.agentflan.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.agentflan.format.Manifest;
import org.agentflan.format.SourceCounts;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.io.LocalOutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardReaderTest {
    @TempDir Path tmp;

    @Test
    void readsSparkLayoutShardsInFileThenRowOrder() throws Exception {
        List<Sample> samples = DataStreamTest.samples(300, 50, 5);
        ShardWriter.writeDataDir(tmp, samples);
        ShardReader.DataDir read = ShardReader.read(tmp, manifest -> { });
        assertEquals("abc123", read.manifest().tokenizerSha256());
        assertEquals(samples.size(), read.samples().size());
        for (int i = 0; i < samples.size(); i++) {
            assertEquals(samples.get(i).id(), read.samples().get(i).id());
            assertArrayEquals(samples.get(i).inputIds(), read.samples().get(i).inputIds());
            assertArrayEquals(samples.get(i).lossMask(), read.samples().get(i).lossMask());
            assertArrayEquals(samples.get(i).capabilityIds(), read.samples().get(i).capabilityIds());
            assertEquals(samples.get(i).source(), read.samples().get(i).source());
        }
    }

    @Test
    void versionOneShardsAreReadWithoutCapabilityLabels() throws Exception {
        List<Sample> samples = DataStreamTest.samples(20, 30, 3);
        ShardWriter.writeVersionOneDataDir(tmp, samples);
        ShardReader.DataDir read = ShardReader.read(tmp, manifest -> { });
        assertEquals(1, read.manifest().formatVersion());
        assertEquals(samples.size(), read.samples().size());
        for (int i = 0; i < samples.size(); i++) {
            assertFalse(read.samples().get(i).hasCapabilityLabels());
            assertArrayEquals(samples.get(i).inputIds(), read.samples().get(i).inputIds());
            assertEquals(samples.get(i).source(), read.samples().get(i).source());
        }
    }

    @Test
    void labelsMissingOutOfRangeOrOfAnotherLengthNameTheShard() throws Exception {
        List<Sample> samples = DataStreamTest.samples(4, 10, 2);
        // A version 2 manifest over version 1 shards: the two come from different runs.
        Path mixed = tmp.resolve("mixed");
        ShardWriter.writeVersionOneDataDir(mixed, samples);
        ShardWriter.writeManifest(mixed, Manifest.FORMAT_VERSION, "abc123");
        DataException missing = assertThrows(DataException.class, () -> ShardReader.read(mixed, manifest -> { }));
        assertTrue(missing.getMessage().startsWith(mixed.resolve("shards/part-00000.parquet").toString())
                && missing.getMessage().contains("column 'capability_ids' missing")
                && missing.getMessage().contains("agentflan prepare"), missing.getMessage());

        Sample s = samples.get(0);
        int[] outOfRange = s.capabilityIds().clone();
        outOfRange[1] = 6;
        Path range = tmp.resolve("range");
        ShardWriter.writeDataDir(range, List.of(s, new Sample("bad", "agent", s.inputIds(), s.lossMask(), outOfRange)));
        DataException e = assertThrows(DataException.class, () -> ShardReader.read(range, manifest -> { }));
        assertTrue(e.getMessage().contains("part-00001.parquet row 0 (id bad)")
                && e.getMessage().contains("'capability_ids' holds 6 at 1"), e.getMessage());

        Path length = tmp.resolve("length");
        ShardWriter.writeManifest(length, Manifest.FORMAT_VERSION, "abc123");
        Path shard = length.resolve("shards/part-00000.parquet");
        Files.createDirectories(shard.getParent());
        SimpleGroupFactory groups = new SimpleGroupFactory(ShardWriter.SPARK_SCHEMA);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(shard))
                .withType(ShardWriter.SPARK_SCHEMA).build()) {
            Group row = groups.newGroup().append("id", "short");
            row.addGroup("input_ids").addGroup("list").append("element", 5);
            row.addGroup("loss_mask").addGroup("list").append("element", 1);
            Group labels = row.addGroup("capability_ids");
            labels.addGroup("list").append("element", 1);
            labels.addGroup("list").append("element", 1);
            writer.write(row);
        }
        e = assertThrows(DataException.class, () -> ShardReader.read(length, manifest -> { }));
        assertTrue(e.getMessage().contains("row 0 (id short)") && e.getMessage().contains("'capability_ids' has 2"),
                e.getMessage());
    }

    @Test
    void rejectsAnotherFormatVersionOrTemplateBeforeReadingShards() throws Exception {
        ShardWriter.writeDataDir(tmp, DataStreamTest.samples(4, 5, 1));
        DataException refused = assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> {
            throw new DataException("refused: " + manifest.tokenizerSha256());
        }));
        assertEquals("refused: abc123", refused.getMessage());
        ShardWriter.writeManifest(tmp, 99, "abc123");
        DataException version = assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { }));
        assertTrue(version.getMessage().contains("manifest.json") && version.getMessage().contains("format_version"),
                version.getMessage());
        Manifest other = new Manifest(Manifest.FORMAT_VERSION, "chatml", "abc123", 0, 4096, false, "drop",
                "2024-01-01T00:00:00Z", 0, Map.of(), SourceCounts.empty(), JsonNodeFactory.instance.objectNode(), false);
        try (OutputStream out = Files.newOutputStream(tmp.resolve(Manifest.FILE_NAME))) {
            other.write(out);
        }
        DataException template = assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { }));
        assertEquals(tmp.resolve(Manifest.FILE_NAME) + ": field 'template' is 'chatml' but this trainer trains and"
                + " generates in the 'agent-flan' template; re-run prepare with template.name=agent-flan", template.getMessage());
    }

    @Test
    void nullArrayOrElementOrLengthMismatchNamesFileRowAndField() throws Exception {
        ShardWriter.writeManifest(tmp, 1, "abc123");
        Path shard = tmp.resolve("shards/part-00000.parquet");
        Files.createDirectories(shard.getParent());
        SimpleGroupFactory groups = new SimpleGroupFactory(ShardWriter.SPARK_SCHEMA_V1);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(shard))
                .withType(ShardWriter.SPARK_SCHEMA_V1).build()) {
            Group good = groups.newGroup().append("id", "good");
            good.addGroup("input_ids").addGroup("list").append("element", 5);
            good.addGroup("loss_mask").addGroup("list").append("element", 1);
            writer.write(good);
            Group noMask = groups.newGroup().append("id", "no-mask");
            noMask.addGroup("input_ids").addGroup("list").append("element", 5);
            writer.write(noMask);
        }
        DataException e = assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { }));
        assertTrue(e.getMessage().contains("part-00000.parquet row 1") && e.getMessage().contains("'loss_mask' is null"),
                e.getMessage());
    }

    /**
     * Real damage to a real shard -- cut short, bytes overwritten in the middle, garbage in place of the file -- is
     * one line naming the shard and what is wrong.
     */
    @Test
    void aDamagedShardNamesItselfInOneLine() throws Exception {
        ShardWriter.writeDataDir(tmp, DataStreamTest.samples(300, 50, 5));
        Path shard = tmp.resolve("shards/part-00001.parquet");
        byte[] good = Files.readAllBytes(shard);

        Files.write(shard, java.util.Arrays.copyOf(good, good.length / 2));
        assertOneLineNaming(shard, assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { })));

        byte[] flipped = good.clone();
        for (int i = good.length / 3; i < good.length / 3 + 64; i++) {
            flipped[i] ^= (byte) 0x5a;
        }
        Files.write(shard, flipped);
        assertOneLineNaming(shard, assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { })));

        Files.writeString(shard, "not a parquet file at all\n");
        assertOneLineNaming(shard, assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { })));
    }

    private static void assertOneLineNaming(Path file, DataException e) {
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void missingShardsFolderSaysToRunPrepare() throws Exception {
        ShardWriter.writeManifest(tmp, Manifest.FORMAT_VERSION, "x");
        DataException e = assertThrows(DataException.class, () -> ShardReader.read(tmp, manifest -> { }));
        assertTrue(e.getMessage().contains("agentflan prepare"), e.getMessage());
    }
}
