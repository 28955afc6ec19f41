package org.agentflan.dataprep.transform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.agentflan.dataprep.model.Capability;
import org.agentflan.dataprep.model.Conversation;
import org.agentflan.dataprep.model.Turn;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;

/**
 * Tags every assistant turn with the capability it exercises (Agent-FLAN idea 2). A tag already set (format
 * alignment sets its own) is kept; the rest follow these rules, in order:
 * <ol>
 *   <li>a ReAct-form turn ({@link ReActStep}) trains the format: {@code instruction_following};</li>
 *   <li>a turn of a configured chat source: {@code chat};</li>
 *   <li>a JSON object (tool arguments, as in already-decomposed release data): {@code understanding};</li>
 *   <li>a bare function name that the system prompt lists: {@code retrieval};</li>
 *   <li>any other turn of an agent conversation (one with a tool-shaped turn above, or an observation): {@code reasoning};</li>
 *   <li>otherwise: {@code chat}.</li>
 * </ol>
 */
public final class CapabilityTagger implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.\\-]*");

    private final CapabilityTaggerConfig config;

    public CapabilityTagger(CapabilityTaggerConfig config) {
        this.config = config;
    }

    public Dataset<Conversation> apply(Dataset<Conversation> conversations) {
        CapabilityTagger self = this;
        return conversations.map((MapFunction<Conversation, Conversation>) self::tag, Encoders.bean(Conversation.class));
    }

    Conversation tag(Conversation c) {
        boolean chatSource = config.chatSources().contains(c.getSource());
        String system = c.getTurns().stream().filter(t -> t.getRole().equals("system"))
                .map(Turn::getContent).findFirst().orElse("");
        List<Turn> out = new ArrayList<>();
        boolean agent = c.getTurns().stream().anyMatch(t -> t.getRole().equals("user") && isObservation(t.getContent()));
        for (Turn t : c.getTurns()) {
            Turn copy = new Turn(t.getRole(), t.getContent(), t.isLoss(), t.getCapability());
            if (t.getRole().equals("assistant") && t.getCapability() == null) {
                copy.setCapability(structural(t.getContent(), chatSource, system));
            }
            if (copy.getCapability() != null && !copy.getCapability().equals(Capability.CHAT.key())
                    && !copy.getCapability().equals(Capability.REASONING.key())) {
                agent = true;
            }
            out.add(copy);
        }
        for (Turn t : out) {
            if (t.getRole().equals("assistant") && t.getCapability() == null) {
                t.setCapability((agent ? Capability.REASONING : Capability.CHAT).key());
            }
        }
        return c.withTurns(out);
    }

    /** Rules 1-4: the tag a turn's own shape decides, or null when it depends on the conversation. */
    private static String structural(String content, boolean chatSource, String system) {
        if (ReActStep.parse(content).isPresent()) {
            return Capability.INSTRUCTION_FOLLOWING.key();
        }
        if (chatSource) {
            return Capability.CHAT.key();
        }
        String s = content.strip();
        if (s.startsWith("{") && isJsonObject(s)) {
            return Capability.UNDERSTANDING.key();
        }
        if (FUNCTION_NAME.matcher(s).matches() && system.contains(s)) {
            return Capability.RETRIEVAL.key();
        }
        return null;
    }

    private static boolean isObservation(String content) {
        return content.startsWith("Observation:") || content.startsWith("Response:");
    }

    private static boolean isJsonObject(String s) {
        try {
            JsonNode node = JSON.readTree(s);
            return node != null && node.isObject();
        } catch (IOException e) {
            return false;
        }
    }
}
