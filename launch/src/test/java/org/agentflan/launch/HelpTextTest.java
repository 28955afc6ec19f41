package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * What {@code agentflan --help} and every command's {@code --help} show at picocli's default 80 columns: the command
 * list's one-line summaries, and the examples each help ends with, parsed by the real command line.
 */
class HelpTextTest {
    private static final int COLUMNS = 80;
    private static final String EXAMPLES_HEADING = "Examples (from the checkout's root):";

    /** Every subcommand's name, in the order of the command list. */
    static Stream<String> subcommands() {
        return Main.commandLine().getSubcommands().keySet().stream();
    }

    /** The commands whose help ends with examples: the top command and every subcommand but picocli's own 'help'. */
    static Stream<String> commandsWithExamples() {
        return Stream.concat(Stream.of(""), subcommands().filter(name -> !name.equals("help")));
    }

    @ParameterizedTest
    @MethodSource("subcommands")
    void summaryIsOneSentenceOnItsOwnRowOfTheCommandList(String name) {
        CommandLine command = Main.commandLine().getSubcommands().get(name);
        String[] header = command.getCommandSpec().usageMessage().header();
        assertEquals(1, header.length, name + ": the summary is one line of 'header'");
        String summary = header[0];
        assertTrue(summary.matches("[A-Z][^.]*\\."), name + ": one sentence, capitalized, ending with '.': " + summary);

        String list = Main.commandLine().getUsageMessage();
        List<String> rows = list.lines().filter(line -> line.startsWith("  " + name + " ")).toList();
        assertEquals(1, rows.size(), list);
        String row = rows.get(0);
        // picocli wraps a summary wider than its column: the whole sentence on the row means it fits.
        assertTrue(row.endsWith(" " + summary), name + ": the row holds the whole summary\n" + list);
        assertTrue(row.length() <= COLUMNS, name + ": " + row.length() + " columns\n" + list);
        // The summary also heads the command's own help.
        assertTrue(command.getUsageMessage().startsWith(summary + System.lineSeparator()), command.getUsageMessage());
    }

    @ParameterizedTest
    @MethodSource("commandsWithExamples")
    void helpEndsWithTwoOrThreeExamplesThatParse(String name) {
        CommandLine command = name.isEmpty() ? Main.commandLine() : Main.commandLine().getSubcommands().get(name);
        String help = command.getUsageMessage();
        int heading = help.indexOf(System.lineSeparator() + EXAMPLES_HEADING + System.lineSeparator());
        assertTrue(heading >= 0, "no examples in:\n" + help);
        List<String> lines = help.substring(heading).strip().lines().skip(1).toList();

        List<String> examples = new ArrayList<>();
        StringBuilder example = new StringBuilder();
        for (String line : lines) {
            assertTrue(line.length() <= COLUMNS, line.length() + " columns: " + line);
            // An example starts at column 2, its continuations (after a trailing '\') at column 6; a line that
            // picocli wrapped starts at column 0.
            int indent = example.isEmpty() ? 2 : 6;
            assertEquals(indent, line.length() - line.stripLeading().length(), "'" + line + "' in\n" + help);
            example.append(line.strip());
            if (line.endsWith("\\")) {
                example.append('\n');
            } else {
                examples.add(example.toString());
                example.setLength(0);
            }
        }
        assertTrue(example.isEmpty(), "the last example ends with '\\'");
        assertTrue(examples.size() >= 2 && examples.size() <= 3, examples.size() + " examples:\n" + help);

        for (String shell : examples) {
            List<List<String>> invocations = ShellWords.invocations(shell);
            assertFalse(invocations.isEmpty(), "no " + ShellWords.PROGRAM + " in example: " + shell);
            boolean runsThisCommand = false;
            for (List<String> args : invocations) {
                ParseResult parsed;
                try {
                    parsed = Main.commandLine().parseArgs(args.toArray(String[]::new));
                } catch (CommandLine.ParameterException e) {
                    fail("example does not parse: " + shell + "\n  " + e.getMessage());
                    return;
                }
                assertTrue(parsed.hasSubcommand(), "example runs no command: " + shell);
                String ran = parsed.subcommand().commandSpec().name();
                runsThisCommand |= name.isEmpty() || ran.equals(name);
            }
            assertTrue(runsThisCommand, "example of '" + name + "' runs another command: " + shell);
        }
    }
}
