package org.agentflan.launch;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Runs the CLI in-process as a user would from the shell, capturing its exit code, stdout and stderr. */
record CliRun(int code, String out, String err) {
    static CliRun of(String... args) {
        PrintStream stdout = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true));
        int code;
        try {
            // Commands print results through System.out (as the shell sees them), so capture that stream.
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = cli.execute(args);
        } finally {
            System.setOut(stdout);
        }
        return new CliRun(code, captured.toString(StandardCharsets.UTF_8), err.toString());
    }
}
