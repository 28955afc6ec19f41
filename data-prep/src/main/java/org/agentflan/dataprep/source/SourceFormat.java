package org.agentflan.dataprep.source;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The input schemas of docs/method.md section 2. Written in configs in snake_case ({@code agent_flan}).
 * Kind-(a) negatives ship in the Agent-FLAN release schema, so they are an {@link #AGENT_FLAN} source.
 */
public enum SourceFormat {
    /** Agent-FLAN release JSONL: {@code {"id", "conversation": [{"role", "content", "loss"}]}}. */
    AGENT_FLAN,
    /** THUDM AgentInstruct JSONL: {@code {"id", "conversations": [{"from": human|gpt, "value", "loss"?}]}}. */
    AGENT_INSTRUCT,
    /** ToolBench answer trees, one JSON document per file; each {@code train_messages} entry becomes a ReAct conversation. */
    TOOLBENCH_RAW,
    /** ToolLLaMA-preprocessed ToolBench JSONL: {@code {"id", "conversations": [{"from": system|user|assistant|function, "value"}]}}. */
    TOOLLLAMA,
    /** ShareGPT chat: a JSON array per file or JSONL; {@code {"id", "conversations": [{"from": human|gpt|system, "value"}]}}. */
    SHAREGPT;

    @JsonValue
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static SourceFormat of(String key) {
        for (SourceFormat f : values()) {
            if (f.key().equals(key) || f.name().equals(key)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown source format '" + key + "'; expected one of "
                + Arrays.stream(values()).map(SourceFormat::key).collect(Collectors.joining(", ")));
    }
}
