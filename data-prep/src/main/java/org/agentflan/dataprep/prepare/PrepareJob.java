package org.agentflan.dataprep.prepare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.agentflan.config.ConfigLoader;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.source.ConversationReader;
import org.agentflan.dataprep.source.ReadResult;
import org.agentflan.dataprep.source.SourceSpec;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.Manifest;
import org.agentflan.format.SourceCounts;
import org.agentflan.dataprep.tokenize.TokenizeStage;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

/**
 * The data stage, top to bottom: check inputs and tokenizer (before Spark starts), read every source, apply the
 * Agent-FLAN transforms, tokenize in a deterministic order, write shards and rejects, then the manifest.
 * Runs in-process ({@code agentflan prepare}, embedded {@code local[*]}) or under spark-submit ({@link #main}).
 */
public final class PrepareJob {

    /** What a run produced, for the CLI summary and for tests. */
    public record Result(String output, Manifest manifest) {}

    /**
     * A run that failed after it started writing: the message is one line saying why and what the output holds
     * (the previous corpus, untouched, or nothing); the cause keeps the details.
     */
    public static final class Failed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private PrepareJob() {}

    /**
     * spark-submit entry point: {@code --config FILE [--set key=value ...] [--verbose]}. The driver logs at WARN, as
     * {@code agentflan prepare} does, unless {@code --verbose}.
     */
    public static void main(String[] args) {
        Path config = null;
        List<String> overrides = new ArrayList<>();
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> config = Path.of(args[++i]);
                case "--set" -> overrides.add(args[++i]);
                case "--verbose" -> verbose = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: PrepareJob --config FILE [--set key=value ...] [--verbose]");
            }
        }
        DriverLogging.set(verbose);
        try {
            System.out.println(summary(run(DataConfig.load(config, overrides))));
        } catch (Failed e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /** Checks, starts Spark (unless spark-submit did), runs, stops the session it started. */
    public static Result run(DataConfig cfg) {
        preflight(cfg);
        SparkSession.Builder builder = SparkSession.builder().appName("agentflan-prepare");
        // spark-submit passes its master as spark.master; set one only for the embedded default.
        if (!new SparkConf().contains("spark.master")) {
            builder.master(cfg.sparkMaster().isBlank() ? "local[*]" : cfg.sparkMaster());
        }
        SparkSession spark = builder.getOrCreate();
        try {
            return run(spark, cfg);
        } finally {
            spark.stop();
        }
    }

    /**
     * Fails fast, naming the key or file, on what would otherwise fail deep inside a Spark job or go wrong
     * silently: an input that matches no file, a file two sources read, an unreadable tokenizer or one that is
     * not Llama-2's, an output that is not a corpus folder.
     */
    public static void preflight(DataConfig cfg) {
        // Remote inputs are listed when the run starts, with the session's file system settings.
        List<String> problems = inputProblems(cfg.sources(), s -> !isRemote(s.path()), new Configuration());
        try {
            // generate's own rule: the assistant end marker is one token that decodes back to it.
            ChatTemplate.assistantEndId(Llama2Tokenizer.shared(Path.of(cfg.tokenizer())));
        } catch (IllegalArgumentException e) {
            problems.add("tokenizer: " + e.getMessage());
        }
        String output = outputProblem(cfg.output());
        if (output != null) {
            problems.add(output);
        }
        if (!problems.isEmpty()) {
            // One line, as a command line error is: the problems side by side.
            throw new IllegalArgumentException(String.join(" | ", problems));
        }
    }

    /** Null when a run may write the (local) output folder; remote ones are checked when the run starts. */
    private static String outputProblem(String output) {
        if (isRemote(output)) {
            return null;
        }
        try {
            org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
            org.apache.hadoop.fs.FileSystem fs = out.getFileSystem(new Configuration());
            return StagedOutput.notReplaceable(fs, fs.makeQualified(out));
        } catch (IOException e) {
            return "cannot inspect output " + output + ": " + e.getMessage();
        }
    }

    private static boolean isRemote(String path) {
        return path.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*") && !path.startsWith("file:");
    }

    /**
     * Problems with the inputs of the sources {@code which} selects, found by listing them as the readers will: a
     * path that matches no file or cannot be listed, and a file that two sources read (its records would be
     * counted, mixed and trained on twice), reported once per pair of sources.
     */
    static List<String> inputProblems(List<SourceSpec> sources, Predicate<SourceSpec> which, Configuration conf) {
        List<String> problems = new ArrayList<>();
        Map<String, String> readBy = new HashMap<>();
        Map<String, List<String>> shared = new TreeMap<>(); // "'a' and 'b'" -> the files both read
        for (int i = 0; i < sources.size(); i++) {
            SourceSpec s = sources.get(i);
            if (!which.test(s)) {
                continue;
            }
            List<String> files;
            try {
                files = ConversationReader.inputFiles(s, conf);
            } catch (IllegalArgumentException | UncheckedIOException e) {
                problems.add("sources[" + i + "]: " + e.getMessage());
                continue;
            }
            for (String file : files) {
                String other = readBy.putIfAbsent(file, s.name());
                if (other != null) {
                    shared.computeIfAbsent("'" + other + "' and '" + s.name() + "'", k -> new ArrayList<>()).add(file);
                }
            }
        }
        shared.forEach((pair, files) -> problems.add("sources " + pair + " both read " + files.size()
                + (files.size() == 1 ? " file: " : " files, e.g. ") + files.get(0)
                + " (list each data folder or file in one source only)"));
        return problems;
    }

    /** Runs on a session the caller owns (tests, notebooks). */
    public static Result run(SparkSession spark, DataConfig cfg) {
        preflight(cfg);
        long start = System.nanoTime();
        StageProgress progress = new StageProgress();
        spark.sparkContext().addSparkListener(progress);
        Dataset<Row> tokenized = null;
        // Everything is written beside the previous corpus and swapped in only once complete.
        StagedOutput staged = StagedOutput.begin(spark.sparkContext().hadoopConfiguration(), cfg.output());
        String output = staged.path();
        try {
            List<String> remote = inputProblems(cfg.sources(), s -> isRemote(s.path()),
                    spark.sparkContext().hadoopConfiguration());
            if (!remote.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", remote));
            }
            List<ReadResult> reads = new ArrayList<>();
            for (SourceSpec spec : cfg.sources()) {
                reads.add(ConversationReader.read(spark, spec));
            }
            // The first job (the sample counts) parses, transforms and tokenizes, once: the tokenized samples are
            // persisted for the sort's sampling pass, the shards and the rejects, and the reader counts and reader
            // rejects come from the tally that parse filled in (only a split or file with more than
            // ReadTally.MAX_REJECTS_PER_PART rejects makes writing them parse again).
            ReadResult input = ReadResult.union(reads);
            Dataset<Conversation> transformed = AgentFlanTransforms.apply(input.conversations(), cfg);
            TokenizeStage.Settings settings = new TokenizeStage.Settings(cfg.tokenizer(), cfg.maxLength(),
                    cfg.overLength(), cfg.template().eos(), cfg.markersInText(), cfg.negatives().negativeSources());
            tokenized = TokenizeStage.tokenize(transformed, settings, cfg.seed()).persist(StorageLevel.MEMORY_AND_DISK());
            Map<String, SourceCounts> sources = CorpusWriter.countSamples(tokenized);

            // Reader rejects are counted with the reasons histogram when they are written; read = parsed + those.
            Map<String, ReadResult.Counts> read = input.countsBySource();
            long readerRejects = 0;
            for (SourceSpec spec : cfg.sources()) {
                ReadResult.Counts c = read.getOrDefault(spec.name(), new ReadResult.Counts(0, 0));
                System.err.printf("prepare: source %s: %d conversations, %d rejected records%n", spec.name(),
                        c.conversations(), c.rejects());
                sources.merge(spec.name(), new SourceCounts(c.conversations(), c.conversations(), 0, 0, 0,
                        new TreeMap<>(), 0, 0, 0, 0), SourceCounts::plus);
                readerRejects += c.rejects();
            }
            CorpusWriter.writeShards(tokenized, cfg.partitions(), output);
            CorpusWriter.writeConversations(tokenized, cfg.partitions(), output);
            Map<String, SourceCounts> rejected = CorpusWriter.writeRejects(tokenized,
                    readerRejects > 0 ? input.rejects().toDF() : null, input.firstLineOfEachSplit(), output);
            rejected.forEach((k, v) -> sources.merge(k, v, SourceCounts::plus));

            SourceCounts totals = sources.values().stream().reduce(SourceCounts.empty(), SourceCounts::plus);
            double seconds = (System.nanoTime() - start) / 1e9;
            Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, ChatTemplate.NAME,
                    Llama2Tokenizer.shared(Path.of(cfg.tokenizer())).sha256(), cfg.seed(), cfg.maxLength(),
                    cfg.template().eos(), cfg.overLength().key(), Instant.now().toString(), seconds, sources, totals,
                    ConfigLoader.toTree(cfg), true);
            CorpusWriter.writeManifest(spark, output, manifest);
            staged.commit();
            return new Result(cfg.output(), manifest);
        } catch (RuntimeException e) {
            staged.abandon();
            throw new Failed("prepare failed, " + (staged.replacesExisting() ? cfg.output()
                    + " still holds the previous corpus" : "nothing was written to " + cfg.output()) + ": "
                    + oneLine(e), e);
        } finally {
            if (tokenized != null) {
                tokenized.unpersist();
            }
            spark.sparkContext().removeSparkListener(progress);
        }
    }

    /**
     * The first line of a failure's message, plus its root cause when that says something more (a Spark job
     * failure wraps the executor's exception, e.g. "No space left on device").
     */
    static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String top = firstLine(e);
        String cause = firstLine(root);
        if (root == e || top.contains(cause)) {
            return top;
        }
        return top + " (" + root.getClass().getSimpleName() + ": " + cause + ")";
    }

    private static String firstLine(Throwable e) {
        String message = e.getMessage();
        String line = message == null ? "" : message.strip().lines().findFirst().orElse("");
        return line.isEmpty() ? e.getClass().getSimpleName() : line;
    }

    /** One paragraph a person reads at the end of a run. */
    public static String summary(Result result) {
        SourceCounts t = result.manifest().totals();
        double s = result.manifest().seconds();
        return String.format("prepare: wrote %d samples (%d tokens, %d carry loss) to %s in %.1f s (%.0f tokens/s);"
                        + " read %d records, rejected %d %s, truncated %d, %d with template markers in their text",
                t.emitted(), t.tokens(), t.lossTokens(), result.output(), s, t.tokens() / Math.max(s, 1e-9),
                t.read(), t.rejected(), t.rejectedReasons(), t.truncated(), t.markersInText());
    }
}
