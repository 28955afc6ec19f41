package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every command's error path as a user meets it: exit status 2 and one stderr line, {@code error: <what failed>; <what
 * to do>}, naming the option or path, with no stack trace unless {@code --verbose}. Each command runs with a missing
 * required option (an unknown one where it has none) and with an input that does not exist. The commands come from
 * {@link Main#commandLine()}, so a new command is checked too, and one with a path option fails here until
 * {@link #MISSING_INPUT} names what to run it with.
 */
class CommandErrorsTest {
    private static final String TOKENIZER = Path.of("..", "sample-data", "llama2-tokenizer").toAbsolutePath().toString();
    /** The what-to-do clause: after the last "; ", a verb telling the user what to do next. */
    private static final Pattern WHAT_TO_DO = Pattern.compile(
            ".*; (run|rerun|pass|give|fix|use|drop|set|pick|create|check|install|point|rename|report) [^;]*");
    private static final String MISSING = "missing";
    /** An output folder below the test's folder. */
    private static final String OUT = "out";

    /** Per command: arguments naming an input that does not exist ({@link #MISSING}, the first one is checked first). */
    private static final Map<String, List<String>> MISSING_INPUT = Map.ofEntries(
            Map.entry("prepare", List.of("--config", MISSING)),
            Map.entry("tokenize", List.of("--tokenizer", TOKENIZER, "--input", MISSING)),
            Map.entry("render", List.of("--tokenizer", TOKENIZER, "--input", MISSING)),
            Map.entry("train", List.of("--config", MISSING)),
            Map.entry("plan", List.of("--config", MISSING)),
            Map.entry("score", List.of("--model", MISSING, "--input", MISSING)),
            Map.entry("generate", List.of("--model", MISSING, "--tokenizer", TOKENIZER, "--prompt", "hi")),
            Map.entry("eval", List.of("--model", MISSING, "--data", MISSING)),
            Map.entry("export", List.of("--checkpoint", MISSING, "--out", OUT)),
            Map.entry("submit", List.of("--target", "slurm", "--config", MISSING, "--dry-run")));

    @TempDir Path tmp;

    /** The user's commands: every subcommand but picocli's own (help, completion). */
    private static List<CommandLine> commands() {
        return Main.commandLine().getSubcommands().values().stream()
                .filter(c -> !c.getCommand().getClass().getName().startsWith("picocli."))
                .toList();
    }

    @TestFactory
    Stream<DynamicTest> aMissingRequiredOptionIsOneLineNamingIt() {
        return commands().stream().map(c -> DynamicTest.dynamicTest(c.getCommandName(), () -> {
            CommandSpec spec = c.getCommandSpec();
            List<OptionSpec> required = spec.options().stream().filter(OptionSpec::required).toList();
            // A command without required options meets the same handler with an option it does not have.
            List<String> args = new ArrayList<>(List.of(c.getCommandName()));
            if (required.isEmpty()) {
                args.add("--no-such-option");
            }
            String line = assertOneLineError(CliRun.of(args.toArray(String[]::new)));
            if (required.isEmpty()) {
                assertTrue(line.contains("'--no-such-option'"), line);
            } else {
                for (OptionSpec option : required) {
                    assertTrue(line.contains(option.longestName()), "names " + option.longestName() + ": " + line);
                }
            }
            assertTrue(line.endsWith("; run 'agentflan " + c.getCommandName() + " --help' for the options"), line);
        }));
    }

    @TestFactory
    Stream<DynamicTest> aNonexistentInputIsOneLineNamingTheOptionAndPath() {
        return commands().stream().map(c -> DynamicTest.dynamicTest(c.getCommandName(), () -> {
            boolean takesPaths = c.getCommandSpec().options().stream().anyMatch(o -> o.type() == Path.class);
            List<String> args = MISSING_INPUT.get(c.getCommandName());
            if (!takesPaths) {
                assertEquals(null, args, c.getCommandName() + " has no path option to point at a missing input");
                return;
            }
            assertNotNull(args, "add a nonexistent-input case for '" + c.getCommandName() + "' to MISSING_INPUT");
            String missing = tmp.resolve(MISSING).toString();
            List<String> line = new ArrayList<>(List.of(c.getCommandName()));
            args.forEach(a -> line.add(a.equals(MISSING) ? missing : a.equals(OUT) ? tmp.resolve(OUT).toString() : a));
            String error = assertOneLineError(CliRun.of(line.toArray(String[]::new)));
            String option = args.get(args.indexOf(MISSING) - 1);
            assertTrue(error.startsWith("error: " + option + " " + missing + ": no such "), error);
        }));
    }

    /** With --verbose, before or after the command, the same line comes last, after the stack trace. */
    @TestFactory
    Stream<DynamicTest> verboseAddsTheStackTrace() {
        return commands().stream().map(c -> DynamicTest.dynamicTest(c.getCommandName(), () -> {
            String name = c.getCommandName();
            // Missing required options, or for a command without any, an unknown one.
            String bad = c.getCommandSpec().options().stream().anyMatch(OptionSpec::required) ? null : "--no-such-option";
            for (List<String> args : List.of(List.of(name, "--verbose"), List.of("--verbose", name))) {
                List<String> line = new ArrayList<>(args);
                if (bad != null) {
                    line.add(bad);
                }
                CliRun run = CliRun.of(line.toArray(String[]::new));
                assertEquals(2, run.code(), run.err());
                List<String> lines = run.err().lines().toList();
                assertTrue(lines.stream().anyMatch(l -> l.startsWith("\tat ")), "a stack trace: " + run.err());
                assertTrue(lines.get(lines.size() - 1).startsWith("error: "), run.err());
            }
        }));
    }

    @Test
    void aFailureInsideACommandIsALineWithItsTraceOnlyWithVerbose() {
        Path missing = tmp.resolve(MISSING);
        CliRun quiet = CliRun.of("plan", "--config", missing.toString());
        assertFalse(quiet.err().contains("\tat "), quiet.err());
        CliRun loud = CliRun.of("plan", "--config", missing.toString(), "--verbose");
        assertEquals(2, loud.code(), loud.err());
        assertTrue(loud.err().contains("\tat org.agentflan.launch.PlanCommand.call("), loud.err());
        assertEquals(quiet.err().strip(), loud.err().strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    /** A bug (any exception that is not the user's to fix) exits 1 and says how to see more. */
    @Test
    void anUnexpectedExceptionIsOneLineAskingForVerbose() {
        for (boolean verbose : new boolean[] {false, true}) {
            CommandLine score = Main.commandLine().getSubcommands().get("score");
            StringWriter err = new StringWriter();
            score.setErr(new PrintWriter(err, true));
            int code = new ErrorLines(() -> verbose).handleExecutionException(
                    new IllegalStateException("a shard of\n7 rows"), score, null);
            assertEquals(ErrorLines.EXIT_UNEXPECTED, code);
            List<String> lines = err.toString().lines().toList();
            assertEquals("error: score failed: IllegalStateException: a shard of 7 rows; " + (verbose
                    ? "report it with the stack trace above" : "rerun with --verbose for the stack trace"),
                    lines.get(lines.size() - 1));
            assertEquals(verbose, lines.size() > 1, err.toString());
        }
    }

    @Test
    void anUnknownCommandSuggestsTheNearestOne() {
        String line = assertOneLineError(CliRun.of("sccore"));
        assertTrue(line.startsWith("error: unknown command 'sccore' (did you mean score"), line);
        assertTrue(line.endsWith("; run 'agentflan --help' for the commands"), line);
    }

    /** Exit status 2, and stderr exactly one line: 'error: ', no stack trace, a what-to-do clause. */
    private static String assertOneLineError(CliRun run) {
        assertEquals(2, run.code(), run.out() + run.err());
        List<String> lines = run.err().lines().toList();
        assertEquals(1, lines.size(), "one line:\n" + run.err());
        String line = lines.get(0);
        assertTrue(line.startsWith("error: "), line);
        assertTrue(WHAT_TO_DO.matcher(line).matches(), "ends with what to do ('; <verb> ...'): " + line);
        return line;
    }
}
