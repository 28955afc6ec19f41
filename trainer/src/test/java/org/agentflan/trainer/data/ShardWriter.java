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
 * array<int>, capability_ids array<int>) -- every column optional, arrays in the three-level list layout, zstd --
 * plus a manifest. Format version 1 shards have no capability_ids column.
 */
public final class ShardWriter {
    /** The columns of a format version 1 shard. */
    static final MessageType SPARK_SCHEMA_V1 = MessageTypeParser.parseMessageType("""
            message spark_schema {
              optional binary id (STRING);
              optional binary source (STRING);
              optional group input_ids (LIST) { repeated group list { optional int32 element; } }
              optional group loss_mask (LIST) { repeated group list { optional int32 element; } }
            }""");
    /** The columns of a shard of the current format version. */
    static final MessageType SPARK_SCHEMA = MessageTypeParser.parseMessageType("""
            message spark_schema {
              optional binary id (STRING);
              optional binary source (STRING);
              optional group input_ids (LIST) { repeated group list { optional int32 element; } }
              optional group loss_mask (LIST) { repeated group list { optional int32 element; } }
              optional group capability_ids (LIST) { repeated group list { optional int32 element; } }
            }""");

    private ShardWriter() {}

    /**
     * Writes the samples in {@code schema}'s columns: the sample's source ("test" when it has none), and its
     * capability labels when the schema has the column (a sample without labels must not be written there).
     */
    static void writeShard(Path file, List<Sample> samples, MessageType schema) throws IOException {
        Files.createDirectories(file.getParent());
        SimpleGroupFactory groups = new SimpleGroupFactory(schema);
        boolean labelled = schema.containsField("capability_ids");
        try (ParquetWriter<Group> writer = ExampleParquetWriter.builder(new LocalOutputFile(file))
                .withType(schema)
                .withCompressionCodec(CompressionCodecName.ZSTD)
                .withRowGroupSize(4L * 1024) // several row groups even for small fixtures
                .build()) {
            for (Sample s : samples) {
                Group row = groups.newGroup();
                row.append("id", s.id());
                row.append("source", s.source() == null ? "test" : s.source());
                appendInts(row, "input_ids", s.inputIds());
                appendInts(row, "loss_mask", s.lossMask());
                if (labelled) {
                    if (s.capabilityIds() == null) {
                        throw new IllegalArgumentException("sample " + s.id() + " has no labels for a labelled shard");
                    }
                    appendInts(row, "capability_ids", s.capabilityIds());
                }
                writer.write(row);
            }
        }
    }

    private static void appendInts(Group row, String column, int[] values) {
        Group list = row.addGroup(column);
        for (int v : values) {
            list.addGroup("list").append("element", v);
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

    /** A data folder of the current format with the samples (which must carry labels) spread over two shards. */
    public static void writeDataDir(Path dir, List<Sample> samples) throws IOException {
        writeDataDir(dir, samples, "abc123");
    }

    /** The same, with a manifest naming the tokenizer whose tokenizer.json has this sha256. */
    public static void writeDataDir(Path dir, List<Sample> samples, String tokenizerSha) throws IOException {
        writeDataDir(dir, samples, Manifest.FORMAT_VERSION, SPARK_SCHEMA, tokenizerSha);
    }

    /** A data folder as format version 1 wrote it: no capability labels. */
    public static void writeVersionOneDataDir(Path dir, List<Sample> samples) throws IOException {
        writeDataDir(dir, samples, 1, SPARK_SCHEMA_V1, "abc123");
    }

    private static void writeDataDir(Path dir, List<Sample> samples, int version, MessageType schema,
                                     String tokenizerSha) throws IOException {
        writeManifest(dir, version, tokenizerSha);
        int half = samples.size() / 2;
        writeShard(dir.resolve("shards/part-00000.parquet"), samples.subList(0, half), schema);
        writeShard(dir.resolve("shards/part-00001.parquet"), samples.subList(half, samples.size()), schema);
    }
}
