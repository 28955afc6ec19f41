package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentflan completion}'s script, sourced by a real bash: the completion function it registers offers the
 * commands, a command's own options and an option's values, as bash's programmable completion would call it.
 */
class CompletionTest {
    @Test
    void bashCompletesCommandsOptionsAndValues(@TempDir Path dir) throws Exception {
        CliRun run = CliRun.of("completion");
        assertEquals(0, run.code(), run.err());
        Path script = dir.resolve("agentflan.bash");
        Files.writeString(script, run.out());

        Map<String, List<String>> replies = complete(script,
                "agentflan tr", "agentflan train --", "agentflan ex", "agentflan export --dtype ", "agentflan submit --target s");
        assertEquals(List.of("train"), replies.get("agentflan tr"));
        List<String> trainOptions = replies.get("agentflan train --");
        assertTrue(trainOptions.containsAll(List.of("--config", "--run-dir", "--nproc", "--stop-at-step", "--help")),
                trainOptions.toString());
        assertFalse(trainOptions.contains("--target"), "submit's option offered for train: " + trainOptions);
        assertEquals(List.of("export"), replies.get("agentflan ex"));
        assertEquals(List.of("float32", "float16", "bfloat16"), replies.get("agentflan export --dtype "));
        assertEquals(List.of("spark-data", "spark", "slurm"), replies.get("agentflan submit --target s"));
    }

    /**
     * What the registered function puts in COMPREPLY for each command line, the cursor at its end, with COMP_WORDS and
     * COMP_CWORD set as bash sets them (a line ending in a blank completes an empty word).
     */
    private static Map<String, List<String>> complete(Path script, String... lines) throws Exception {
        // Outside a real completion picocli's compopt calls fail with a message; the function carries on.
        StringBuilder probe = new StringBuilder("source '" + script + "' || exit 3\n")
                .append("function=$(complete -p agentflan | sed -E 's/.*-F ([^ ]+).*/\\1/')\n")
                .append("[[ -n $function ]] || exit 4\n")
                // The same function for the path the README runs.
                .append("[[ $(complete -p scripts/agentflan) == *\"-F $function \"* ]] || exit 5\n")
                .append("complete_line() {\n")
                .append("  COMP_LINE=\"$1\"; COMP_POINT=${#1}; read -r -a COMP_WORDS <<< \"$1\"\n")
                .append("  [[ \"$1\" == *' ' ]] && COMP_WORDS+=('')\n")
                .append("  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()\n")
                .append("  \"$function\" agentflan \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n")
                .append("  echo \"${COMPREPLY[*]}\"\n")
                .append("}\n");
        for (String line : lines) {
            probe.append("complete_line '").append(line).append("'\n");
        }
        Process bash = new ProcessBuilder("bash", "--norc", "--noprofile", "-c", probe.toString()).start();
        bash.getOutputStream().close();
        String out = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(bash.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(bash.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, bash.exitValue(), err);
        List<String> replies = out.lines().toList();
        assertEquals(lines.length, replies.size(), out + err);
        Map<String, List<String>> byLine = new LinkedHashMap<>();
        for (int i = 0; i < lines.length; i++) {
            byLine.put(lines[i], Arrays.stream(replies.get(i).split(" ")).filter(s -> !s.isEmpty()).toList());
        }
        return byLine;
    }
}
