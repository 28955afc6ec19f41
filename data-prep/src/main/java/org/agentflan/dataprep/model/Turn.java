package org.agentflan.dataprep.model;

import java.io.Serializable;
import java.util.Objects;
import org.agentflan.format.ChatTurn;

/**
 * One turn of a canonical conversation. A Java bean (not a record) so that Spark's bean encoder can store it
 * in a Dataset column. {@code capability} is null until tagging; see {@link Capability} for the values.
 */
public class Turn implements Serializable, ChatTurn {
    private static final long serialVersionUID = 1L;

    private String role;        // "system" | "user" | "assistant"
    private String content;
    private boolean loss;       // does this turn's content (and end marker) carry loss?
    private String capability;  // nullable: reasoning | retrieval | understanding | instruction_following | chat

    public Turn() {}

    public Turn(String role, String content, boolean loss, String capability) {
        this.role = role;
        this.content = content;
        this.loss = loss;
        this.capability = capability;
    }

    public static Turn system(String content) { return new Turn("system", content, false, null); }
    public static Turn user(String content) { return new Turn("user", content, false, null); }
    public static Turn assistant(String content) { return new Turn("assistant", content, true, null); }

    public String getRole() { return role; }
    public void setRole(String role) { this.role = role; }
    public String getContent() { return content; }
    public void setContent(String content) { this.content = content; }
    public boolean isLoss() { return loss; }
    public void setLoss(boolean loss) { this.loss = loss; }
    public String getCapability() { return capability; }
    public void setCapability(String capability) { this.capability = capability; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Turn t && loss == t.loss && Objects.equals(role, t.role)
                && Objects.equals(content, t.content) && Objects.equals(capability, t.capability);
    }

    @Override
    public int hashCode() { return Objects.hash(role, content, loss, capability); }

    @Override
    public String toString() {
        return role + (loss ? "*" : "") + (capability == null ? "" : "[" + capability + "]") + ": " + content;
    }
}
