package org.agentflan.dataprep.prepare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.agentflan.format.ShardSchema;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads a prepared corpus back in its defined order: shard files by name, rows in file order. */
final class Shards {
    private Shards() {}

    static List<Path> files(Path output) {
        try (Stream<Path> s = Files.list(output.resolve(ShardSchema.SHARDS_DIR))) {
            return s.filter(p -> ShardSchema.isShard(p.getFileName().toString())).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One string per row: id, source, ids and mask, so that lists compare with a readable diff. */
    static List<String> rows(SparkSession spark, Path output) {
        List<String> rows = new ArrayList<>();
        for (Path file : files(output)) {
            // One small file is one split, so collect() keeps the file's row order.
            for (Row r : spark.read().parquet(file.toString()).select("id", "source", "input_ids", "loss_mask")
                    .collectAsList()) {
                rows.add(r.getString(0) + " " + r.getString(1) + " " + r.getList(2) + " " + r.getList(3));
            }
        }
        return rows;
    }
}
