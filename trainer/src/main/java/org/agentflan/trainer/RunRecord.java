package org.agentflan.trainer;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * Where a run came from: every start and resume appends one line to {@code <run>/starts.jsonl} with the resolved
 * config, the step it starts at, the checkpoint it resumes from, the number of ranks, the code version (git commit, when the code runs
 * from a git checkout) and the DJL, PyTorch and Java versions, so that any part of a loss curve can be traced to
 * the code and settings that made it.
 */
public final class RunRecord {
    public static final String FILE = "starts.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RunRecord() {}

    /** Appends this start's line; returns it (tests and the console read it back). */
    public static ObjectNode append(Path runDir, JsonNode resolvedConfig, long startStep, Path resumedFrom, Engine engine,
                                    int worldSize) throws IOException {
        ObjectNode line = JSON.createObjectNode();
        line.put("time", Instant.now().toString());
        line.put("start_step", startStep);
        if (resumedFrom == null) {
            line.putNull("resumed_from");
        } else {
            line.put("resumed_from", resumedFrom.toString());
        }
        line.put("world_size", worldSize);
        line.put("pid", ProcessHandle.current().pid());
        line.put("code_version", codeVersion());
        ObjectNode versions = line.putObject("versions");
        versions.put("djl", Engine.getDjlVersion());
        versions.put("engine", engine.getEngineName());
        versions.put("pytorch", engine.getVersion());
        versions.put("java", System.getProperty("java.version"));
        versions.put("java_vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        line.set("config", resolvedConfig);
        Files.writeString(runDir.resolve(FILE), JSON.writeValueAsString(line) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
        return line;
    }

    /**
     * The git commit of the checkout the trainer's classes were built in, with "-dirty" when it has uncommitted
     * changes; "unknown" outside a checkout or without git (a cluster jar copied elsewhere, say).
     */
    static String codeVersion() {
        Path codeDir;
        try {
            codeDir = Path.of(RunRecord.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            return "unknown";
        }
        Path dir = Files.isDirectory(codeDir) ? codeDir : codeDir.getParent();
        String commit = git(dir, "rev-parse", "HEAD");
        if (commit == null) {
            return "unknown";
        }
        String status = git(dir, "status", "--porcelain", "--untracked-files=no");
        return status == null || status.isEmpty() ? commit : commit + "-dirty";
    }

    private static String git(Path dir, String... args) {
        String[] command = new String[args.length + 3];
        command[0] = "git";
        command[1] = "-C";
        command[2] = dir.toString();
        System.arraycopy(args, 0, command, 3, args.length);
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out;
            try (InputStream in = process.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return null;
            }
            return process.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null; // no git on this machine
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
