package org.agentflan.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.agentflan.format.FormatException;
import org.agentflan.launch.eval.EvalJob;
import org.agentflan.launch.eval.EvalReport;
import org.agentflan.trainer.data.DataException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code agentflan eval}: loss, hallucination and tool-use figures of a model on a prepared folder. */
@Command(name = "eval",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Measures a model's loss, hallucination and tool use on a data set.",
        description = {"Evaluates an HF-layout Llama model on a prepared data folder (README: 'Evaluate a model').",
            "loss: mean next-token NLL per loss token, overall and per source.",
            "hallucination: on negative samples, the share of greedy first replies that call a tool anyway, under a "
                + "ReAct prompt and under a general prompt (lower is better).",
            "tool_use: on reference tool calls, the share of replies that call the reference tool, give JSON-object "
                + "arguments, and give the reference's argument keys.",
            "A table goes to stdout (one JSON object with --json); progress goes to stderr."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan eval --data work/data/sample \\",
            "      --model work/runs/tiny/checkpoints/step_00000040/model",
            "  scripts/agentflan eval --data work/data/sample --split all --max-samples 50 \\",
            "      --json --model work/runs/tiny/checkpoints/step_00000040/model"})
public final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "HF model folder, e.g. <run>/checkpoints/step_N/model (its tokenizer.json is used unless --tokenizer is given).")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR", description = "A folder 'agentflan prepare' wrote.")
    Path data;

    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "heldout",
            description = "heldout: the samples the training run evaluated on (its data.eval_dirs, or its seed and "
                    + "data.holdout_fraction); all: every sample (default: ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--train-config", paramLabel = "FILE",
            description = "The training run's YAML config; default: the trainer_state.json beside the model folder.")
    Path trainConfig;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "Directory with tokenizer.json (default: the model folder).")
    Path tokenizer;

    @Option(names = "--max-samples", paramLabel = "N", defaultValue = "200",
            description = "At most N samples per section: loss samples, negatives, tool-call steps (default: ${DEFAULT-VALUE}).")
    int maxSamples;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "64",
            description = "Most tokens per generated reply (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "8",
            description = "Prompts decoded together (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32",
            description = "Compute dtype: float32, or float16/bfloat16 on a GPU (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--json", description = "Print one JSON object instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        InputPaths.folder("--model", model, InputPaths.MODEL);
        InputPaths.folder("--data", data, "a folder 'agentflan prepare' wrote (its output)");
        InputPaths.file("--train-config", trainConfig, "the training run's YAML config, or drop --train-config to"
                + " use the trainer_state.json beside the model folder");
        InputPaths.exists("--tokenizer", tokenizer, InputPaths.TOKENIZER + ", or drop --tokenizer to use the model"
                + " folder's");
        try {
            EvalReport report = EvalJob.run(new EvalJob.Options(model, data, trainConfig, tokenizer, split, maxSamples,
                    maxNewTokens, batchSize, dtype), spec.commandLine().getErr());
            System.out.print(json ? report.toJson().toString() + System.lineSeparator() : report.toTable());
            return 0;
        } catch (IllegalArgumentException | FormatException | DataException e) {
            throw new UserError(e.getMessage(), e);
        } catch (IOException e) {
            throw new UserError("cannot evaluate model " + model + ": " + IoFailure.describe(e), e);
        } catch (UncheckedIOException e) {
            throw new UserError(IoFailure.describe(e), e);
        }
    }
}
