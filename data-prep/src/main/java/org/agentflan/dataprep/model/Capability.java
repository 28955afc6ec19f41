package org.agentflan.dataprep.model;

/**
 * The capability an assistant turn exercises (docs/method.md section 4); stored lower-case in
 * {@link Turn#getCapability()}.
 */
public enum Capability {
    REASONING, RETRIEVAL, UNDERSTANDING, INSTRUCTION_FOLLOWING, CHAT;

    public String key() { return name().toLowerCase(java.util.Locale.ROOT); }

    public static Capability of(String key) { return valueOf(key.toUpperCase(java.util.Locale.ROOT)); }
}
