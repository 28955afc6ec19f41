package org.agentflan.format;

/**
 * What {@link ChatTemplate} reads of a turn. The data stage's Spark bean ({@code org.agentflan.dataprep.model.Turn})
 * implements it; {@link #of} and the role factories make one anywhere else (inference, tests).
 */
public interface ChatTurn {
    String SYSTEM = "system";
    String USER = "user";
    String ASSISTANT = "assistant";

    /** {@value #SYSTEM}, {@value #USER} or {@value #ASSISTANT}; every role but assistant renders as Human. */
    String getRole();

    /** The turn's text; null renders as empty. */
    String getContent();

    /** Whether the content and the end marker carry loss. */
    boolean isLoss();

    static ChatTurn of(String role, String content, boolean loss) {
        return new Plain(role, content, loss);
    }

    static ChatTurn system(String content) {
        return of(SYSTEM, content, false);
    }

    static ChatTurn user(String content) {
        return of(USER, content, false);
    }

    /** An assistant turn that carries loss, as in training data. */
    static ChatTurn assistant(String content) {
        return of(ASSISTANT, content, true);
    }

    /** A turn as plain values. */
    record Plain(String role, String content, boolean loss) implements ChatTurn {
        @Override
        public String getRole() {
            return role;
        }

        @Override
        public String getContent() {
            return content;
        }

        @Override
        public boolean isLoss() {
            return loss;
        }
    }
}
