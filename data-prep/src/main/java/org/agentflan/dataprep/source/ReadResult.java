package org.agentflan.dataprep.source;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Reject;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.SparkSession;

/**
 * What reading gives: one lazy parse of the input ({@code outcomes}, each a conversation or a reject), two views
 * of it, and the tallies its first computation fills in. The parse is an RDD of objects, so that typed steps on
 * {@link #conversations()} get the parser's own objects: Spark runs a chain of typed transforms on them without
 * encoding the conversations into rows and back. Counts and the rejects' line numbers come from the tallies;
 * only when no job has parsed everything yet does asking for them cost a counting pass.
 */
public record ReadResult(SparkSession spark, JavaRDD<ConversationReader.ReadOutcome> outcomes,
                         List<SourceRead> sources) {

    /** How many conversations and rejects a source gave. */
    public record Counts(long conversations, long rejects) {}

    /** One source's tally and how many units of input (JSONL splits, whole files) complete it. */
    public record SourceRead(String source, ReadTally tally, int units) {
        boolean complete() {
            return tally.value().size() == units;
        }
    }

    /** Several sources read as one (their outcomes in order). */
    public static ReadResult union(List<ReadResult> reads) {
        if (reads.size() == 1) {
            return reads.get(0);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(reads.get(0).spark().sparkContext());
        @SuppressWarnings("unchecked")
        JavaRDD<ConversationReader.ReadOutcome>[] all = reads.stream().map(ReadResult::outcomes).toArray(JavaRDD[]::new);
        List<SourceRead> sources = new ArrayList<>();
        reads.forEach(r -> sources.addAll(r.sources()));
        return new ReadResult(reads.get(0).spark(), jsc.union(all), sources);
    }

    public Dataset<Conversation> conversations() {
        return spark.createDataset(outcomes.filter(o -> o.conversation() != null)
                .map(ConversationReader.ReadOutcome::conversation).rdd(), Encoders.bean(Conversation.class));
    }

    /**
     * The rejects, a reject from a JSONL split numbered by its line in the whole file. They come from the tallies
     * when every part brought its rejects along (the usual case: few bad records), else from another parse.
     */
    public Dataset<Reject> rejects() {
        Map<String, Long> firstLine = firstLineOfEachSplit();
        List<ConversationReader.ReadOutcome> kept = new ArrayList<>();
        for (SourceRead s : sources) {
            for (ReadTally.Part p : s.tally().value().values()) {
                if (p.rejectOutcomes() == null) {
                    JavaRDD<Reject> reparsed = outcomes.filter(o -> o.reject() != null)
                            .map(o -> numbered(o, firstLine));
                    return spark.createDataset(reparsed.rdd(), Encoders.bean(Reject.class));
                }
                kept.addAll(p.rejectOutcomes());
            }
        }
        List<Reject> rejects = new ArrayList<>(kept.size());
        for (ConversationReader.ReadOutcome o : kept) {
            rejects.add(numbered(o, firstLine));
        }
        rejects.sort(Comparator.comparing(Reject::getSource).thenComparing(Reject::getFile)
                .thenComparingLong(Reject::getLine));
        return spark.createDataset(rejects, Encoders.bean(Reject.class));
    }

    private static Reject numbered(ConversationReader.ReadOutcome o, Map<String, Long> firstLine) {
        Reject r = o.reject();
        return o.split() == null ? r : r.atLine(firstLine.get(o.split()) + r.getLine() - 1);
    }

    /** Both counts per source (every configured source, zeros included). */
    public Map<String, Counts> countsBySource() {
        Map<String, Counts> out = new TreeMap<>();
        for (SourceRead s : tallied()) {
            long conversations = 0;
            long rejects = 0;
            for (ReadTally.Part p : s.tally().value().values()) {
                conversations += p.conversations();
                rejects += p.rejects();
            }
            out.merge(s.source(), new Counts(conversations, rejects),
                    (a, b) -> new Counts(a.conversations() + b.conversations(), a.rejects() + b.rejects()));
        }
        return out;
    }

    /**
     * The 1-based line in its file where each JSONL split starts (its file's earlier splits' lines, plus one), by
     * split key: a record's line in its file is this plus its line in the split, minus one.
     */
    public Map<String, Long> firstLineOfEachSplit() {
        Map<String, TreeMap<Long, Long>> splitsByFile = new HashMap<>();
        for (SourceRead s : tallied()) {
            for (ReadTally.Part p : s.tally().value().values()) {
                if (p.isSplit()) {
                    splitsByFile.computeIfAbsent(p.file(), f -> new TreeMap<>()).put(p.start(), p.lines());
                }
            }
        }
        Map<String, Long> first = new HashMap<>();
        splitsByFile.forEach((file, splits) -> {
            long next = 1;
            for (Map.Entry<Long, Long> split : splits.entrySet()) {
                first.put(ReadTally.splitKey(file, split.getKey()), next);
                next += split.getValue();
            }
        });
        return first;
    }

    /** The sources, their tallies complete: when some unit has not been parsed yet, one pass parses all. */
    private List<SourceRead> tallied() {
        if (!sources.stream().allMatch(SourceRead::complete)) {
            outcomes.foreachPartition(partition -> partition.forEachRemaining(o -> { })); // parsing tallies
        }
        return sources;
    }
}
