package org.agentflan.dataprep.model;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The canonical conversation every reader produces and every transform consumes. {@code id} is stable across
 * runs (taken from the source or derived from the content); {@code source} names the configured input it came
 * from and is the unit of mixing weights and manifest counts. A Java bean for Spark's bean encoder.
 */
public class Conversation implements Serializable {
    private static final long serialVersionUID = 1L;

    private String id;
    private String source;
    private List<Turn> turns = new ArrayList<>();

    public Conversation() {}

    public Conversation(String id, String source, List<Turn> turns) {
        this.id = id;
        this.source = source;
        this.turns = new ArrayList<>(turns);
    }

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getSource() { return source; }
    public void setSource(String source) { this.source = source; }
    public List<Turn> getTurns() { return turns; }
    public void setTurns(List<Turn> turns) { this.turns = turns; }

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
