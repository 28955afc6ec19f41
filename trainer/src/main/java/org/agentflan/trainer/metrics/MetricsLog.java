package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code <run>/metrics.jsonl}: one JSON object per line, {@code "type": "train"} per optimizer step and
 * {@code "type": "eval"} per eval run. On resume, lines past the resumed step (written by the interrupted run after
 * its last checkpoint) are dropped so the file tells one consistent history.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    public MetricsLog(Path file, long resumeStep) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        truncateAfter(file, resumeStep);
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    public static ObjectNode line(String type, long step) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", type);
        n.put("step", step);
        return n;
    }

    public void write(ObjectNode line) throws IOException {
        out.write(JSON.writeValueAsString(line));
        out.write('\n');
        out.flush();
    }

    /** Every line of a metrics file, parsed (unparseable lines, e.g. cut by a crash, are skipped). */
    public static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        if (!Files.exists(file)) {
            return lines;
        }
        for (String text : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            try {
                lines.add(JSON.readTree(text));
            } catch (IOException e) {
                // A line cut short by kill -9; the resumed run rewrites that step.
            }
        }
        return lines;
    }

    private static void truncateAfter(Path file, long step) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        StringBuilder kept = new StringBuilder();
        for (JsonNode line : read(file)) {
            if (line.path("step").asLong(Long.MAX_VALUE) <= step) {
                kept.append(JSON.writeValueAsString(line)).append('\n');
            }
        }
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(temp, kept, StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Resident set size of this process in bytes (Linux), or -1 where unknown. */
    public static long rssBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
