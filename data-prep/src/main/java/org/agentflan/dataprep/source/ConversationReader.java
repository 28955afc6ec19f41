package org.agentflan.dataprep.source;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.agentflan.dataprep.model.RejectKind;
import org.agentflan.dataprep.util.LoneSurrogates;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.input.FileSplit;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaNewHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * Reads one configured source into canonical conversations and rejects, parsing with Jackson on the executors.
 *
 * <p>JSONL is read as raw bytes per line through Hadoop's {@link TextInputFormat}, so large files split across
 * tasks and invalid UTF-8 is caught by a reporting decoder rather than replaced. Line numbers need the count of
 * lines before each split: the parse counts each split's lines into a {@link ReadTally}, and
 * {@link ReadResult#rejects()} turns those counts into each reject's line in its file.
 * One-document files (ToolBench answer trees) and JSON-array files (ShareGPT) are read whole, one task per file.
 */
public final class ConversationReader {

    /** Below this, an input is not split further to spread it over the cores: a task costs more than it saves. */
    private static final long MIN_SPLIT_BYTES = 4L << 20;

    private ConversationReader() {}

    /**
     * Reads one source, lazily: parsing happens in the first job that needs the records (and again in every
     * later one, unless the caller persists). That job also tallies the records and the lines of each JSONL
     * split ({@link ReadTally}), from which rejects get their line numbers in the file.
     *
     * @throws IllegalArgumentException when the spec is invalid or its path matches no file (before any Spark job)
     */
    public static ReadResult read(SparkSession spark, SourceSpec spec) {
        List<String> problems = spec.problems();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", problems));
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Configuration conf = jsc.hadoopConfiguration();
        InputFiles files = InputFiles.resolve(spec, conf);
        boolean wholeFiles = spec.format() == SourceFormat.TOOLBENCH_RAW
                || (spec.format() == SourceFormat.SHAREGPT && !files.allEndWith(".jsonl"));
        ReadTally tally = new ReadTally();
        // Unnamed: Spark shows a named accumulator's whole value (here every part, rejects included) in the UI and
        // the event log with every task that updates it.
        spark.sparkContext().register(tally);
        JavaRDD<ReadOutcome> outcomes;
        int units;
        if (wholeFiles) {
            outcomes = readWholeFiles(jsc, spec, files, tally);
            units = files.paths().size();
        } else {
            JavaNewHadoopRDD<LongWritable, Text> lines = textRdd(jsc, files);
            outcomes = readLines(lines, spec, files, tally);
            units = lines.getNumPartitions();
        }
        return new ReadResult(spark, outcomes, List.of(new ReadResult.SourceRead(spec.name(), tally, units)));
    }

    /**
     * The files a source reads, as the reader lists them (qualified URIs, sorted): a file; every file under a
     * folder, folders of folders included (ToolBench's {@code answer/G1_answer/...}); or every file a glob
     * matches, wildcards in folder names included ({@code data/G*_answer/*.json}). Names starting with '.' or '_'
     * inside a folder (hidden files, Spark's {@code _SUCCESS}) are skipped.
     *
     * @throws IllegalArgumentException when the path matches no file
     * @throws UncheckedIOException when the path cannot be listed
     */
    public static List<String> inputFiles(SourceSpec spec, Configuration conf) {
        return InputFiles.resolve(spec, conf).paths().stream().map(Path::toString).toList();
    }

    /**
     * A conversation or a reject (the other is null); one record may give several of either. {@code split}: for a
     * reject from a JSONL split, the split's key, its line then being counted from the split's start; else null.
     */
    public record ReadOutcome(Conversation conversation, Reject reject, String split) implements Serializable {
        static ReadOutcome of(Conversation conversation) {
            return new ReadOutcome(conversation, null, null);
        }
    }

    /** Collects a parser's output for one raw record. */
    private static final class Collector implements RecordSink {
        final List<ReadOutcome> out = new ArrayList<>();
        private final RawRecord record;
        private final String split;

        Collector(RawRecord record, String split) {
            this.record = record;
            this.split = split;
        }

        /** Keeps the conversation, with where it was read, unless its text holds a lone surrogate. */
        @Override
        public void accept(long line, Conversation conversation) {
            String invalid = LoneSurrogates.in(conversation.getId(), conversation.getTurns());
            if (invalid != null) {
                reject(line, RejectKind.INVALID_UNICODE, invalid);
                return;
            }
            conversation.setOrigin(record.file(), line, split);
            out.add(ReadOutcome.of(conversation));
        }

        @Override
        public void reject(long line, RejectKind kind, String reason) {
            out.add(new ReadOutcome(null, new Reject(record.file(), line, record.source(), kind, reason, record.text()),
                    split));
        }
    }

    /** Parses one record's text; every failure becomes a reject at the record's own locator. */
    private static List<ReadOutcome> parseRecord(RecordParser parser, RawRecord record, String split) {
        Collector sink = new Collector(record, split);
        try {
            parser.parse(Json.parse(record.text()), record, sink);
        } catch (BadRecordException e) {
            sink.reject(record.line(), e.kind(), e.getMessage());
        }
        return sink.out;
    }

    private static ReadOutcome invalidUtf8(RawRecord record, long byteOffset, String of, String split) {
        return new ReadOutcome(null, new Reject(record.file(), record.line(), record.source(), RejectKind.INVALID_UTF8,
                "invalid UTF-8 at byte " + byteOffset + " of the " + of, record.text()), split);
    }

    /** The tally's part for a unit of input from what parsing it gave. */
    private static ReadTally.Part part(String file, long start, long lines, List<ReadOutcome> outcomes) {
        long conversations = 0;
        List<ReadOutcome> rejects = new ArrayList<>();
        for (ReadOutcome o : outcomes) {
            if (o.conversation() != null) {
                conversations++;
            } else if (rejects.size() < ReadTally.MAX_REJECTS_PER_PART) {
                rejects.add(o);
            }
        }
        long rejected = outcomes.size() - conversations;
        return new ReadTally.Part(file, start, lines, conversations, rejected,
                rejected <= ReadTally.MAX_REJECTS_PER_PART ? rejects : null);
    }

    // ---- JSONL, split across tasks ----

    private static JavaRDD<ReadOutcome> readLines(JavaNewHadoopRDD<LongWritable, Text> lines, SourceSpec spec,
                                                 InputFiles files, ReadTally tally) {
        String source = spec.name();
        String baseUri = files.baseUri();
        RecordParser parser = RecordParser.forFormat(spec.format());
        return lines.mapPartitionsWithInputSplit((split, records) -> {
            FileSplit fileSplit = (FileSplit) split;
            String key = ReadTally.splitKey(fileSplit.getPath().toString(), fileSplit.getStart());
            String file = InputFiles.relativeName(fileSplit.getPath().toString(), baseUri);
            long line = 0; // counted from the split's start; ReadResult.rejects adds the lines before it
            List<ReadOutcome> out = new ArrayList<>();
            while (records.hasNext()) {
                Text text = records.next()._2();
                line++;
                StrictUtf8.Decoded decoded = StrictUtf8.decode(text.getBytes(), 0, text.getLength());
                String content = fileSplit.getStart() == 0 && line == 1 ? stripBom(decoded.text()) : decoded.text();
                if (content.isBlank()) {
                    continue;
                }
                RawRecord record = new RawRecord(source, file, line, content);
                if (!decoded.valid()) {
                    out.add(invalidUtf8(record, decoded.badByteOffsets().get(0), "line", key));
                } else {
                    out.addAll(parseRecord(parser, record, key));
                }
            }
            tally.add(part(fileSplit.getPath().toString(), fileSplit.getStart(), line, out));
            return out.iterator();
        }, true);
    }

    @SuppressWarnings("unchecked")
    private static JavaNewHadoopRDD<LongWritable, Text> textRdd(JavaSparkContext jsc, InputFiles files) {
        try {
            Job job = Job.getInstance(new Configuration(jsc.hadoopConfiguration()));
            FileInputFormat.setInputPaths(job, files.paths().toArray(new Path[0]));
            // Splits follow the block size (32 MB locally): a 50 MB file became a 32 MB and an 18 MB task, and
            // the whole stage waited on the bigger one. Cap the split at an even share of the input per core
            // (never raising a cap the configuration already sets).
            long total = 0;
            for (Path p : files.paths()) {
                total += p.getFileSystem(job.getConfiguration()).getFileStatus(p).getLen();
            }
            int cores = jsc.defaultParallelism();
            long share = Math.max(MIN_SPLIT_BYTES, (total + cores - 1) / cores);
            FileInputFormat.setMaxInputSplitSize(job, Math.min(share, FileInputFormat.getMaxSplitSize(job)));
            return (JavaNewHadoopRDD<LongWritable, Text>) jsc.newAPIHadoopRDD(job.getConfiguration(),
                    TextInputFormat.class, LongWritable.class, Text.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String stripBom(String text) {
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }

    // ---- whole files: ToolBench answer trees, ShareGPT JSON arrays ----

    private static JavaRDD<ReadOutcome> readWholeFiles(JavaSparkContext jsc, SourceSpec spec, InputFiles files,
                                                      ReadTally tally) {
        String source = spec.name();
        String baseUri = files.baseUri();
        SourceFormat format = spec.format();
        RecordParser parser = RecordParser.forFormat(format);
        return jsc.binaryFiles(files.commaSeparated()).flatMap(file -> {
            String name = InputFiles.relativeName(file._1(), baseUri);
            byte[] bytes = file._2().toArray();
            StrictUtf8.Decoded decoded = StrictUtf8.decode(bytes, 0, bytes.length);
            String text = stripBom(decoded.text());
            int shift = decoded.text().length() - text.length();
            List<ReadOutcome> out;
            if (format == SourceFormat.TOOLBENCH_RAW) {
                RawRecord record = new RawRecord(source, name, -1, text);
                out = decoded.valid() ? parseRecord(parser, record, null)
                        : List.of(invalidUtf8(record, decoded.badByteOffsets().get(0), "file", null));
            } else {
                out = text.stripLeading().startsWith("[")
                        ? readArray(parser, source, name, text, decoded, shift)
                        : readLinesOfText(parser, source, name, text, decoded, shift);
            }
            tally.add(part(file._1(), -1, 0, out));
            return out.iterator();
        });
    }

    /** A JSON array file: each element is a record at its 0-based index; a syntax error ends the file with one reject. */
    private static List<ReadOutcome> readArray(RecordParser parser, String source, String file, String text,
                                               StrictUtf8.Decoded decoded, int shift) {
        List<ReadOutcome> out = new ArrayList<>();
        long index = 0;
        try (JsonParser json = Json.MAPPER.createParser(text)) {
            if (json.nextToken() != JsonToken.START_ARRAY) {
                throw new IllegalStateException("sniffed '[' but the parser disagrees");
            }
            while (json.nextToken() != JsonToken.END_ARRAY) {
                int start = (int) json.currentTokenLocation().getCharOffset();
                JsonNode element = Json.ELEMENT_READER.readTree(json);
                int end = (int) json.currentLocation().getCharOffset();
                RawRecord record = new RawRecord(source, file, index, text.substring(start, end));
                long bad = decoded.firstBadByteBetween(start + shift, end + shift);
                if (bad >= 0) {
                    out.add(invalidUtf8(record, bad, "file", null));
                } else {
                    Collector sink = new Collector(record, null);
                    try {
                        parser.parse(element, record, sink);
                    } catch (BadRecordException e) {
                        sink.reject(index, e.kind(), e.getMessage());
                    }
                    out.addAll(sink.out);
                }
                index++;
            }
        } catch (JsonProcessingException e) {
            String rest = text.substring((int) Math.min(text.length(), Math.max(0, e.getLocation() == null ? 0
                    : e.getLocation().getCharOffset() - 200)));
            out.add(new ReadOutcome(null, new Reject(file, index, source, RejectKind.MALFORMED_JSON,
                    "malformed JSON array at element [" + index
                    + "], line " + (e.getLocation() == null ? "?" : e.getLocation().getLineNr()) + " of the file: "
                    + e.getOriginalMessage() + "; the rest of the file cannot be read", rest), null));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** JSONL content in a file read whole (e.g. ShareGPT saved as .json but one object per line). */
    private static List<ReadOutcome> readLinesOfText(RecordParser parser, String source, String file, String text,
                                                     StrictUtf8.Decoded decoded, int shift) {
        List<ReadOutcome> out = new ArrayList<>();
        int start = 0;
        long line = 0;
        while (start <= text.length()) {
            int newline = text.indexOf('\n', start);
            int end = newline < 0 ? text.length() : newline;
            line++;
            String content = text.substring(start, end);
            if (content.endsWith("\r")) {
                content = content.substring(0, content.length() - 1);
            }
            if (!content.isBlank()) {
                RawRecord record = new RawRecord(source, file, line, content);
                long bad = decoded.firstBadByteBetween(start + shift, end + shift);
                out.addAll(bad >= 0 ? List.of(invalidUtf8(record, bad, "file", null))
                        : parseRecord(parser, record, null));
            }
            if (newline < 0) {
                break;
            }
            start = newline + 1;
        }
        return out;
    }

    /** The files a source path names, checked on the driver, and the folder their relative names start from. */
    record InputFiles(List<Path> paths, String baseUri) implements Serializable {

        static InputFiles resolve(SourceSpec spec, Configuration conf) {
            try {
                Path path = new Path(spec.path());
                FileSystem fs = path.getFileSystem(conf);
                FileStatus[] matches = fs.globStatus(path);
                TreeSet<Path> files = new TreeSet<>(); // sorted, and a file two glob branches match is read once
                if (matches != null) {
                    for (FileStatus match : matches) {
                        if (match.isDirectory()) {
                            addFilesUnder(fs, match.getPath(), files);
                        } else {
                            files.add(match.getPath());
                        }
                    }
                }
                if (files.isEmpty()) {
                    throw new IllegalArgumentException("source '" + spec.name() + "': no input file matches path '"
                            + spec.path() + "' (check the path, or give a directory or a glob such as data/*.jsonl)");
                }
                return new InputFiles(new ArrayList<>(files), fs.makeQualified(baseDir(path, fs)).toString());
            } catch (IOException e) {
                throw new UncheckedIOException("source '" + spec.name() + "': cannot list " + spec.path() + ": "
                        + e.getMessage(), e);
            }
        }

        /** Every file under {@code dir}, in folders of any depth, but for hidden and '_' names. */
        private static void addFilesUnder(FileSystem fs, Path dir, TreeSet<Path> files) throws IOException {
            for (FileStatus child : fs.listStatus(dir)) {
                String n = child.getPath().getName();
                if (n.startsWith(".") || n.startsWith("_")) {
                    continue;
                }
                if (child.isDirectory()) {
                    addFilesUnder(fs, child.getPath(), files);
                } else if (child.isFile()) {
                    files.add(child.getPath());
                }
            }
        }

        /** The deepest folder of the path without glob characters; for a plain file, its folder. */
        private static Path baseDir(Path path, FileSystem fs) throws IOException {
            Path p = path;
            boolean glob = false;
            for (Path q = path; q != null; q = q.getParent()) {
                if (q.getName().matches(".*[*?\\[\\]{}\\\\].*")) {
                    glob = true;
                    p = q.getParent();
                }
            }
            if (glob) {
                return p;
            }
            return fs.getFileStatus(path).isDirectory() ? path : path.getParent();
        }

        boolean allEndWith(String suffix) {
            return paths.stream().allMatch(p -> p.getName().endsWith(suffix));
        }

        String commaSeparated() {
            List<String> escaped = new ArrayList<>();
            for (Path p : paths) {
                escaped.add(p.toString().replace("\\", "\\\\").replace(",", "\\,"));
            }
            return String.join(",", escaped);
        }

        static String relativeName(String fileUri, String baseUri) {
            String prefix = baseUri.endsWith("/") ? baseUri : baseUri + "/";
            if (fileUri.startsWith(prefix)) {
                return fileUri.substring(prefix.length());
            }
            return new Path(fileUri).getName();
        }
    }
}
