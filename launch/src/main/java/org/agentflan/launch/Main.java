package org.agentflan.launch;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code agentflan} command line. Each subcommand is a class of its own; this only wires them. */
@Command(name = "agentflan",
        mixinStandardHelpOptions = true,
        version = "agentflan 0.1.0",
        description = {
            "Builds the Agent-FLAN training corpus with Spark and fine-tunes Llama-2 on it with DJL/PyTorch.",
            "Run 'agentflan <command> --help' for the options of a command."},
        subcommands = {
            CommandLine.HelpCommand.class,
            PrepareCommand.class,
            TokenizeCommand.class,
            RenderCommand.class,
            TrainCommand.class,
            PlanCommand.class,
            ScoreCommand.class,
            GenerateCommand.class,
            EvalCommand.class,
            ExportCommand.class,
            SubmitCommand.class,
            EnvCommand.class,
        })
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Builds the command line; tests call this to run commands in-process. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        // Errors a user can fix (bad config, missing file) print as one clear message, not a stack trace.
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof UserError || e instanceof org.agentflan.config.ConfigException) {
                line.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
