package org.agentflan.format;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One conversation a corpus folder's shards were tokenized from, as {@code prepare} keeps it beside them in
 * {@code <out>/conversations/part-*.jsonl} (one JSON object per line, in the shards' order): the Agent-FLAN release
 * schema ({@code id}, {@code conversation} of {@code role}, {@code content}, {@code loss}) after every transform,
 * plus what {@code agentflan eval} needs and token ids lose:
 * <ul>
 *   <li>{@code source}: the configured source (or the negatives' source name), as in the shard row;</li>
 *   <li>{@code negative}: a negative sample (the built kind-(b) ones, and the conversations of the sources
 *       {@code negatives.file_sources} names), on which a tool call is a hallucination;</li>
 *   <li>{@code format}: {@value #REACT} when an assistant turn is in ReAct form ({@code Thought: .. Action: ..}),
 *       else {@value #GENERAL} (chat, with decomposed tool turns);</li>
 *   <li>{@code tools}: the names in the tool list of the system turn (empty when it lists none);</li>
 *   <li>per turn, {@code capability} when tagging set one.</li>
 * </ul>
 * The system or ReAct prompt is the conversation's system turn, as trained.
 */
public record ConversationRecord(String id, String source, boolean negative, String format, List<String> tools,
                                 List<Turn> conversation) {
    /** The folder inside a corpus folder. */
    public static final String DIR = "conversations";
    public static final String FILE_SUFFIX = ".jsonl";
    public static final String REACT = "react";
    public static final String GENERAL = "general";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);

    /** A turn in the release schema, with its capability tag (null when it has none). */
    public record Turn(String role, String content, boolean loss, String capability) implements ChatTurn {
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

    public ConversationRecord {
        tools = List.copyOf(tools);
        conversation = List.copyOf(conversation);
    }

    /** One line of a conversations file. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write conversation " + id, e);
        }
    }

    /** Parses one line; {@code where} names the file and line for the error. */
    public static ConversationRecord parse(String line, String where) {
        try {
            ConversationRecord r = JSON.readValue(line, ConversationRecord.class);
            if (r.id() == null || r.source() == null || r.format() == null) {
                throw new FormatException(where + ": id, source and format must be set");
            }
            return r;
        } catch (JsonProcessingException e) {
            throw new FormatException(where + ": not a conversation record (" + e.getOriginalMessage() + ")", e);
        }
    }

    /**
     * Every conversation of a corpus folder, in file order. The caller has checked the manifest says they are there.
     *
     * @throws FormatException naming the folder, file and line
     */
    public static List<ConversationRecord> readAll(Path corpusDir) {
        Path dir = corpusDir.resolve(DIR);
        List<ConversationRecord> out = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(p -> p.getFileName().toString().startsWith(ShardSchema.SHARD_PREFIX)
                    && p.getFileName().toString().endsWith(FILE_SUFFIX)).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new FormatException(dir + ": cannot list the conversations (" + e + "); re-run 'agentflan prepare'", e);
        }
        for (Path file : files) {
            try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String line;
                int n = 0;
                while ((line = reader.readLine()) != null) {
                    n++;
                    if (!line.isBlank()) {
                        out.add(parse(line, file + " line " + n));
                    }
                }
            } catch (IOException e) {
                throw new FormatException(file + ": cannot read (" + e + ")", e);
            }
        }
        return out;
    }
}
