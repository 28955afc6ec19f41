package org.agentflan.trainer.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.FormatException;
import org.agentflan.format.Manifest;
import org.agentflan.format.ShardSchema;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Reads the data stage's shards ({@code <dir>/shards/part-*.parquet}) without Spark. Spark writes every column
 * as nullable and arrays in the three-level list layout ({@code group (LIST) { repeated group list { optional
 * element } }}); both that and the legacy two-level layout are accepted. Of the {@link ShardSchema} columns
 * {@code id}, {@code source}, {@code input_ids}, {@code loss_mask} and, from format version 2 on,
 * {@code capability_ids} are read; other columns are ignored. A version 1 corpus gives samples without labels.
 */
public final class ShardReader {
    private ShardReader() {}

    /** What one data folder holds: its manifest, and its samples in shard-file then row order. */
    public record DataDir(Path dir, Manifest manifest, List<Sample> samples) {
        public Path manifestFile() {
            return dir.resolve(Manifest.FILE_NAME);
        }
    }

    /**
     * Reads one data folder. Its manifest is read and checked first, and {@code manifestCheck} sees it before any
     * shard is read, so a folder the run cannot use is refused before its shards are loaded.
     */
    public static DataDir read(Path dir, Consumer<Manifest> manifestCheck) {
        Manifest manifest = manifest(dir);
        manifestCheck.accept(manifest);
        List<Path> shards = shardFiles(dir);
        List<Sample> samples = new ArrayList<>();
        for (Path shard : shards) {
            readShard(shard, manifest.hasCapabilityLabels(), samples);
        }
        return new DataDir(dir, manifest, List.copyOf(samples));
    }

    static List<Path> shardFiles(Path dir) {
        Path shardDir = dir.resolve(ShardSchema.SHARDS_DIR);
        if (!Files.isDirectory(shardDir)) {
            throw new DataException(shardDir + ": no shards folder (run 'agentflan prepare' to write " + dir + ")");
        }
        try (Stream<Path> files = Files.list(shardDir)) {
            List<Path> shards = files
                    .filter(p -> ShardSchema.isShard(p.getFileName().toString()))
                    .sorted()
                    .toList();
            if (shards.isEmpty()) {
                throw new DataException(shardDir + ": no part-*.parquet files");
            }
            return shards;
        } catch (IOException e) {
            throw new DataException(shardDir + ": cannot list (" + oneLine(e) + ")");
        }
    }

    /**
     * The manifest of a data folder, with its format version checked (by {@link Manifest#read}) and its template:
     * the trainer's {@code generate} prompts in {@link ChatTemplate}'s format, so data rendered in another would
     * teach the model a format it is never asked in.
     */
    private static Manifest manifest(Path dir) {
        Path file = dir.resolve(Manifest.FILE_NAME);
        Manifest manifest;
        try {
            manifest = Manifest.read(file);
        } catch (FormatException e) {
            throw new DataException(e.getMessage());
        }
        if (!ChatTemplate.NAME.equals(manifest.template())) {
            throw new DataException(file + ": field 'template' is '" + manifest.template() + "' but this trainer"
                    + " trains and generates in the '" + ChatTemplate.NAME + "' template; re-run prepare with"
                    + " template.name=" + ChatTemplate.NAME);
        }
        return manifest;
    }

    /** Reads one shard's rows into {@code out}; with {@code labelled} (format version 2 on) their capability labels too. */
    private static void readShard(Path shard, boolean labelled, List<Sample> out) {
        try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(shard), ParquetReadOptions.builder().build())) {
            MessageType schema = reader.getFooter().getFileMetaData().getSchema();
            Column ids = Column.find(schema, ShardSchema.INPUT_IDS.name(), shard);
            Column mask = Column.find(schema, ShardSchema.LOSS_MASK.name(), shard);
            if (labelled && !schema.containsField(ShardSchema.CAPABILITY_IDS.name())) {
                throw new DataException(shard + ": column '" + ShardSchema.CAPABILITY_IDS.name() + "' missing, but the"
                        + " folder's manifest.json has a format_version that has it (2 on): the shard and the manifest come"
                        + " from different runs; re-run 'agentflan prepare'");
            }
            Column capabilities = labelled ? Column.find(schema, ShardSchema.CAPABILITY_IDS.name(), shard) : null;
            String idColumn = ShardSchema.ID.name();
            boolean hasId = schema.containsField(idColumn);
            String sourceColumn = ShardSchema.SOURCE.name();
            boolean hasSource = schema.containsField(sourceColumn);
            MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
            long row = 0;
            PageReadStore pages;
            while ((pages = reader.readNextRowGroup()) != null) {
                RecordReader<Group> records = io.getRecordReader(pages, new GroupRecordConverter(schema));
                for (long i = 0; i < pages.getRowCount(); i++, row++) {
                    Group g = records.read();
                    String where = shard + " row " + row;
                    String id = hasId && g.getFieldRepetitionCount(idColumn) > 0 ? g.getString(idColumn, 0) : where;
                    int[] inputIds = ids.read(g, where);
                    int[] lossMask = mask.read(g, where);
                    if (inputIds.length != lossMask.length) {
                        throw new DataException(where + " (id " + id + "): field 'input_ids' has " + inputIds.length
                                + " tokens but 'loss_mask' has " + lossMask.length);
                    }
                    for (int k = 0; k < lossMask.length; k++) {
                        if (lossMask[k] != 0 && lossMask[k] != 1) {
                            throw new DataException(where + " (id " + id + "): field 'loss_mask' holds " + lossMask[k]
                                    + " at " + k + "; only 0 and 1 are allowed");
                        }
                    }
                    String source = hasSource && g.getFieldRepetitionCount(sourceColumn) > 0
                            ? g.getString(sourceColumn, 0) : null;
                    int[] labels = capabilities == null ? null : capabilities.read(g, where);
                    if (labels != null) {
                        checkLabels(labels, inputIds.length, where + " (id " + id + ")");
                    }
                    out.add(new Sample(id, source, inputIds, lossMask, labels));
                }
            }
        } catch (DataException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Parquet reports a truncated or corrupt file with IOExceptions and plain RuntimeExceptions alike.
            throw new DataException(shard + ": not a readable Parquet shard, truncated or corrupt (" + oneLine(e) + ")");
        }
    }

    /** Capability labels must be as long as the ids and each one a {@link ShardSchema#CAPABILITY_IDS} value. */
    private static void checkLabels(int[] labels, int tokens, String where) {
        String column = ShardSchema.CAPABILITY_IDS.name();
        if (labels.length != tokens) {
            throw new DataException(where + ": field 'input_ids' has " + tokens + " tokens but '" + column + "' has "
                    + labels.length);
        }
        for (int k = 0; k < labels.length; k++) {
            if (labels[k] < ShardSchema.NO_CAPABILITY || labels[k] > ShardSchema.CAPABILITIES.size()) {
                throw new DataException(where + ": field '" + column + "' holds " + labels[k] + " at " + k
                        + "; only 0 to " + ShardSchema.CAPABILITIES.size() + " are allowed (" + ShardSchema.CAPABILITIES
                        + " from 1)");
            }
        }
    }

    /** The exception's message (its type when it has none) on one line. */
    private static String oneLine(Exception e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replaceAll("\\s*\\R\\s*", " ");
    }

    /** An int array column in either list layout; the element may be any int type or a boolean. */
    private record Column(String name, boolean threeLevel, boolean bool) {
        static Column find(MessageType schema, String name, Path shard) {
            if (!schema.containsField(name)) {
                throw new DataException(shard + ": column '" + name + "' missing (schema: " + schema + ")");
            }
            Type field = schema.getType(name);
            if (field.isPrimitive()) {
                throw new DataException(shard + ": column '" + name + "' must be an array, found " + field);
            }
            GroupType list = field.asGroupType();
            Type repeated = list.getType(0);
            boolean threeLevel = !repeated.isPrimitive();
            PrimitiveType element = threeLevel ? repeated.asGroupType().getType(0).asPrimitiveType() : repeated.asPrimitiveType();
            PrimitiveType.PrimitiveTypeName t = element.getPrimitiveTypeName();
            if (t != PrimitiveType.PrimitiveTypeName.INT32 && t != PrimitiveType.PrimitiveTypeName.INT64
                    && t != PrimitiveType.PrimitiveTypeName.BOOLEAN) {
                throw new DataException(shard + ": column '" + name + "' must hold integers, found " + element);
            }
            return new Column(name, threeLevel, t == PrimitiveType.PrimitiveTypeName.BOOLEAN);
        }

        int[] read(Group row, String where) {
            if (row.getFieldRepetitionCount(name) == 0) {
                throw new DataException(where + ": field '" + name + "' is null");
            }
            Group list = row.getGroup(name, 0);
            int n = list.getFieldRepetitionCount(0);
            int[] values = new int[n];
            for (int i = 0; i < n; i++) {
                Group holder = threeLevel ? list.getGroup(0, i) : list;
                int index = threeLevel ? 0 : i;
                if (threeLevel && holder.getFieldRepetitionCount(0) == 0) {
                    throw new DataException(where + ": field '" + name + "' has a null element at " + i);
                }
                values[i] = bool ? (holder.getBoolean(0, index) ? 1 : 0) : readInt(holder, index);
            }
            return values;
        }

        private static int readInt(Group holder, int index) {
            Type t = holder.getType().getType(0);
            if (t.asPrimitiveType().getPrimitiveTypeName() == PrimitiveType.PrimitiveTypeName.INT64) {
                return Math.toIntExact(holder.getLong(0, index));
            }
            return holder.getInteger(0, index);
        }
    }
}
