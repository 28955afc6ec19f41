package org.agentflan.trainer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.agentflan.format.Manifest;
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
        ShardReader.DataDir read = ShardReader.read(tmp, "ABC123");
        assertEquals("abc123", read.tokenizerSha256());
        assertEquals(samples.size(), read.samples().size());
        for (int i = 0; i < samples.size(); i++) {
            assertEquals(samples.get(i).id(), read.samples().get(i).id());
            assertArrayEquals(samples.get(i).inputIds(), read.samples().get(i).inputIds());
            assertArrayEquals(samples.get(i).lossMask(), read.samples().get(i).lossMask());
        }
    }

    @Test
    void rejectsAnotherFormatVersionOrTokenizer() throws Exception {
        ShardWriter.writeDataDir(tmp, DataStreamTest.samples(4, 5, 1));
        DataException tok = assertThrows(DataException.class, () -> ShardReader.read(tmp, "ffff"));
        assertTrue(tok.getMessage().contains("tokenizer_sha256"), tok.getMessage());
        ShardWriter.writeManifest(tmp, 99, "abc123");
        DataException version = assertThrows(DataException.class, () -> ShardReader.read(tmp, ""));
        assertTrue(version.getMessage().contains("manifest.json") && version.getMessage().contains("format_version"),
                version.getMessage());
    }

    @Test
    void nullArrayOrElementOrLengthMismatchNamesFileRowAndField() throws Exception {
        ShardWriter.writeManifest(tmp, Manifest.FORMAT_VERSION, "abc123");
        Path shard = tmp.resolve("shards/part-00000.parquet");
        Files.createDirectories(shard.getParent());
        SimpleGroupFactory groups = new SimpleGroupFactory(ShardWriter.SPARK_SCHEMA);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(shard))
                .withType(ShardWriter.SPARK_SCHEMA).build()) {
            Group good = groups.newGroup().append("id", "good");
            good.addGroup("input_ids").addGroup("list").append("element", 5);
            good.addGroup("loss_mask").addGroup("list").append("element", 1);
            writer.write(good);
            Group noMask = groups.newGroup().append("id", "no-mask");
            noMask.addGroup("input_ids").addGroup("list").append("element", 5);
            writer.write(noMask);
        }
        DataException e = assertThrows(DataException.class, () -> ShardReader.read(tmp, ""));
        assertTrue(e.getMessage().contains("part-00000.parquet row 1") && e.getMessage().contains("'loss_mask' is null"),
                e.getMessage());
    }

    @Test
    void missingShardsFolderSaysToRunPrepare() throws Exception {
        ShardWriter.writeManifest(tmp, Manifest.FORMAT_VERSION, "x");
        DataException e = assertThrows(DataException.class, () -> ShardReader.read(tmp, ""));
        assertTrue(e.getMessage().contains("agentflan prepare"), e.getMessage());
    }
}
