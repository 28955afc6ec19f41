package org.agentflan.launch;

import org.agentflan.dataprep.prepare.DriverLogging;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

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

    /** Every command inherits it (it is listed in each one's --help); errors and logging read it. */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Show the stack trace of an error, and log at INFO (Spark, DJL) instead of WARN.")
    boolean verbose;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Whether {@code --verbose} was given to the command line {@code spec} belongs to (before or after the command). */
    static boolean verbose(CommandLine.Model.CommandSpec spec) {
        return spec.root().userObject() instanceof Main main && main.verbose;
    }

    /** Builds the command line; tests call this to run commands in-process. */
    public static CommandLine commandLine() {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        // Every error is one line saying what failed and what to do; the stack trace only with --verbose.
        ErrorLines errors = new ErrorLines(() -> main.verbose);
        cli.setParameterExceptionHandler(errors);
        cli.setExecutionExceptionHandler(errors);
        cli.setExecutionStrategy(parsed -> {
            if (!main.verbose) {
                return new CommandLine.RunLast().execute(parsed);
            }
            DriverLogging.set(true);
            try {
                return new CommandLine.RunLast().execute(parsed);
            } finally {
                DriverLogging.reset();
            }
        });
        return cli;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }
}
