package org.agentflan.trainer.data;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Manifest;
import org.agentflan.format.SourceCounts;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

/**
 * Test helper: writes shards the way Spark writes a Dataset of (id, source, input_ids array<int>, loss_mask
 * array<int>) -- every column optional, arrays in the three-level list layout, zstd -- plus a manifest.
 */
public final class ShardWriter {
    static final MessageType SPARK_SCHEMA = MessageTypeParser.parseMessageType("""
            message spark_schema {
              optional binary id (STRING);
              optional binary source (STRING);
              optional group input_ids (LIST) { repeated group list { optional int32 element; } }
              optional group loss_mask (LIST) { repeated group list { optional int32 element; } }
            }""");

    private ShardWriter() {}

    static void writeShard(Path file, List<Sample> samples) throws IOException {
        Files.createDirectories(file.getParent());
        SimpleGroupFactory groups = new SimpleGroupFactory(SPARK_SCHEMA);
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
                .withType(SPARK_SCHEMA)
                .withCompressionCodec(CompressionCodecName.ZSTD)
                .withRowGroupSize(4L * 1024) // several row groups even for small fixtures
                .build()) {
            for (Sample s : samples) {
                Group row = groups.newGroup();
                row.append("id", s.id());
                row.append("source", "test");
                Group ids = row.addGroup("input_ids");
                for (int v : s.inputIds()) {
                    ids.addGroup("list").append("element", v);
                }
                Group mask = row.addGroup("loss_mask");
                for (int v : s.lossMask()) {
                    mask.addGroup("list").append("element", v);
                }
                writer.write(row);
            }
        }
    }

    /** A manifest as data-prep writes it, with no counts. */
    static void writeManifest(Path dir, int formatVersion, String tokenizerSha) throws IOException {
        Files.createDirectories(dir);
        Manifest manifest = new Manifest(formatVersion, ChatTemplate.NAME, tokenizerSha, 0, 4096, false, "drop",
                "2024-01-01T00:00:00Z", 0, Map.of(), SourceCounts.empty(), JsonNodeFactory.instance.objectNode(), false);
        try (OutputStream out = Files.newOutputStream(dir.resolve(Manifest.FILE_NAME))) {
            manifest.write(out);
        }
    }

    /** A data folder with the samples spread over two shards. */
    public static void writeDataDir(Path dir, List<Sample> samples) throws IOException {
        writeManifest(dir, Manifest.FORMAT_VERSION, "abc123");
        int half = samples.size() / 2;
        writeShard(dir.resolve("shards/part-00000.parquet"), samples.subList(0, half));
        writeShard(dir.resolve("shards/part-00001.parquet"), samples.subList(half, samples.size()));
    }
}
