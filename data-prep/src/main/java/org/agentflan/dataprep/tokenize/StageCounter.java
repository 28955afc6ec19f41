package org.agentflan.dataprep.tokenize;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.util.AccumulatorV2;

/**
 * Per-source counts and the rejects of the tokenize step, gathered while the shards are written, so that no
 * second pass over the tokenized data is needed. The step runs in the write job's result stage, where Spark
 * applies each partition's accumulator update exactly once (retried and speculative attempts are dropped).
 */
public final class StageCounter extends AccumulatorV2<StageCounter.Event, StageCounter> {
    private static final long serialVersionUID = 1L;

    /** One sample's outcome; {@code rejectReason} null means emitted. */
    public record Event(String source, String id, String rejectReason, boolean truncated, long tokens,
                        long lossTokens) implements Serializable {}

    /** candidates, emitted, truncated, tokens, loss tokens of one source. */
    public static final class Totals implements Serializable {
        private static final long serialVersionUID = 1L;
        public long candidates;
        public long emitted;
        public long truncated;
        public long tokens;
        public long lossTokens;

        void add(Totals o) {
            candidates += o.candidates;
            emitted += o.emitted;
            truncated += o.truncated;
            tokens += o.tokens;
            lossTokens += o.lossTokens;
        }
    }

    private final Map<String, Totals> totals = new HashMap<>();
    private final List<Event> rejects = new ArrayList<>();

    public Map<String, Totals> totals() {
        return totals;
    }

    /** Samples the tokenize step rejected (e.g. over length), with source, id and reason. */
    public List<Event> rejects() {
        return rejects;
    }

    @Override
    public boolean isZero() {
        return totals.isEmpty() && rejects.isEmpty();
    }

    @Override
    public StageCounter copy() {
        StageCounter c = new StageCounter();
        c.merge(this);
        return c;
    }

    @Override
    public void reset() {
        totals.clear();
        rejects.clear();
    }

    @Override
    public void add(Event e) {
        Totals t = totals.computeIfAbsent(e.source(), k -> new Totals());
        t.candidates++;
        if (e.rejectReason() != null) {
            rejects.add(e);
            return;
        }
        t.emitted++;
        t.truncated += e.truncated() ? 1 : 0;
        t.tokens += e.tokens();
        t.lossTokens += e.lossTokens();
    }

    @Override
    public void merge(AccumulatorV2<Event, StageCounter> other) {
        StageCounter o = (StageCounter) other;
        o.totals.forEach((k, v) -> totals.computeIfAbsent(k, x -> new Totals()).add(v));
        rejects.addAll(o.rejects);
    }

    @Override
    public StageCounter value() {
        return this;
    }

    /** Short, and not through {@link #value()} (which is this object: the default would recurse). */
    @Override
    public String toString() {
        return "StageCounter(" + totals.size() + " sources, " + rejects.size() + " rejects)";
    }
}
