package org.agentflan.launch;

import java.io.PrintWriter;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.agentflan.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * How every command reports a failure: one line, {@code error: <what failed>; <what to do>}, on stderr, and the stack
 * trace only with {@code --verbose}. The what-to-do clause is the text after the last {@code "; "} and starts with a
 * verb (run, pass, fix, ...), so a user can act without reading code. Exit statuses: 2 for a bad command line and for
 * a problem the user can fix ({@link UserError}, {@link ConfigException}), 1 for anything unexpected (a bug).
 */
final class ErrorLines implements IParameterExceptionHandler, IExecutionExceptionHandler {
    /** The exit status of an unexpected failure: picocli's own for an exception out of a command. */
    static final int EXIT_UNEXPECTED = 1;
    /** The exit status of a bad command line or a problem the user can fix. */
    static final int EXIT_USER_ERROR = 2;

    private final BooleanSupplier verbose;

    /** @param verbose whether {@code --verbose} was given: read when an error is printed, after parsing */
    ErrorLines(BooleanSupplier verbose) {
        this.verbose = verbose;
    }

    /** A bad command line: picocli's message, then where the options are listed (no usage dump). */
    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine line = e.getCommandLine();
        boolean root = line.getParent() == null;
        String message = lowerFirst(oneLine(e.getMessage()));
        if (e instanceof UnmatchedArgumentException unmatched) {
            if (root && !unmatched.isUnknownOption() && !unmatched.getUnmatched().isEmpty()) {
                message = "unknown command '" + unmatched.getUnmatched().get(0) + "'";
            }
            if (!unmatched.getSuggestions().isEmpty()) {
                message += " (did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?)";
            }
        }
        print(line.getErr(), e, message + "; run '" + line.getCommandSpec().qualifiedName() + " --help' for the "
                + (root ? "commands" : "options"));
        return EXIT_USER_ERROR;
    }

    /** A failure inside a command: a user's problem as its own line, anything else as a bug to rerun verbosely. */
    @Override
    public int handleExecutionException(Exception e, CommandLine line, ParseResult parsed) {
        PrintWriter err = line.getErr();
        if (e instanceof UserError) {
            print(err, e, oneLine(e.getMessage()));
            return EXIT_USER_ERROR;
        }
        if (e instanceof ConfigException config) {
            print(err, e, configLine(config));
            return EXIT_USER_ERROR;
        }
        String what = line.getCommandName() + " failed: " + oneLine(e.getMessage() == null ? e.toString()
                : e.getClass().getSimpleName() + ": " + e.getMessage());
        print(err, e, what + (verbose.getAsBoolean() ? "; report it with the stack trace above"
                : "; rerun with --verbose for the stack trace"));
        return EXIT_UNEXPECTED;
    }

    /**
     * A config's problems on one line: each already names its file line or {@code --set}, so they are joined with
     * {@code " | "} after the config's name.
     */
    static String configLine(ConfigException e) {
        String head = e.getMessage().lines().findFirst().orElse("invalid config:");
        List<String> problems = e.problems();
        return head + " " + String.join(" | ", problems) + "; fix " + (problems.size() == 1 ? "it" : "them")
                + " in the config or the --set and run again";
    }

    /** The trace first (with --verbose), so that the one-line summary is the last thing on the screen. */
    private void print(PrintWriter err, Exception e, String line) {
        if (verbose.getAsBoolean()) {
            e.printStackTrace(err);
        }
        err.println("error: " + line);
        err.flush();
    }

    private static String lowerFirst(String text) {
        return text.isEmpty() ? text : Character.toLowerCase(text.charAt(0)) + text.substring(1);
    }

    /** Folds a message's line breaks (a library's, or a list of problems) so that the error stays one line. */
    static String oneLine(String text) {
        return text.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
