package org.agentflan.launch;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code agentflan} command line. Each subcommand is a class of its own; this only wires them. */
@Command(name = "agentflan",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Builds the Agent-FLAN training corpus with Spark and fine-tunes Llama-2 on it with DJL/PyTorch.",
            "Run 'agentflan <command> --help' for the options of a command."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan prepare --config configs/data/sample.yaml",
            "  scripts/agentflan train --config configs/train/tiny.yaml",
            "  scripts/agentflan generate --tokenizer sample-data/llama2-tokenizer \\",
            "      --model work/runs/tiny/checkpoints/step_00000040/model \\",
            "      --prompt \"I need the weather in Paris. Which tool should I call?\""},
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
            CompletionCommand.class,
        })
public final class Main implements Runnable {
    /**
     * The heading of the examples every command's --help ends with. They are the README's flows, run from the
     * checkout's root, where configs/, sample-data/ and work/ are; HelpTextTest parses each with this command line.
     */
    static final String EXAMPLES = "%nExamples (from the checkout's root):%n";

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
