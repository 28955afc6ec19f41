package org.agentflan.dataprep.model;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The canonical conversation every reader produces and every transform consumes. {@code id} is stable across
 * runs (taken from the source or derived from the content); {@code source} names the configured input it came
 * from and is the unit of mixing weights and manifest counts. {@code file} and {@code line} say where it was read
 * (as a {@link Reject} locates a record), so that a sample rejected later (over length, a marker in its text)
 * still points at its input; {@code split} is set for a JSONL record, whose {@code line} then counts from that
 * split's start until the rejects are written. Records built by rule (negatives) have no file. Transforms keep
 * the origin ({@link #withTurns}, {@link #withId}). A Java bean for Spark's bean encoder.
 */
public class Conversation implements Serializable {
    private static final long serialVersionUID = 1L;

    private String id;
    private String source;
    private List<Turn> turns = new ArrayList<>();
    private String file;
    private long line = -1;
    private String split;

    public Conversation() {}

    public Conversation(String id, String source, List<Turn> turns) {
        this.id = id;
        this.source = source;
        this.turns = new ArrayList<>(turns);
    }

    /** The same conversation, read from the same place, with other turns. */
    public Conversation withTurns(List<Turn> newTurns) {
        Conversation c = new Conversation(id, source, newTurns);
        c.setOrigin(file, line, split);
        return c;
    }

    /** The same conversation, read from the same place, under another id (a mixing copy). */
    public Conversation withId(String newId) {
        Conversation c = withTurns(turns);
        c.setId(newId);
        return c;
    }

    /** Where the record was read: file relative to the source path, locator in it, JSONL split key or null. */
    public void setOrigin(String file, long line, String split) {
        this.file = file;
        this.line = line;
        this.split = split;
    }

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getSource() { return source; }
    public void setSource(String source) { this.source = source; }
    public List<Turn> getTurns() { return turns; }
    public void setTurns(List<Turn> turns) { this.turns = turns; }
    public String getFile() { return file; }
    public void setFile(String file) { this.file = file; }
    public long getLine() { return line; }
    public void setLine(long line) { this.line = line; }
    public String getSplit() { return split; }
    public void setSplit(String split) { this.split = split; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Conversation c && Objects.equals(id, c.id) && Objects.equals(source, c.source)
                && Objects.equals(turns, c.turns);
    }

    @Override
    public int hashCode() { return Objects.hash(id, source, turns); }

    @Override
    public String toString() { return "Conversation{" + id + ", " + source + ", " + turns + "}"; }
}
