package org.agentflan.launch;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.agentflan.trainer.inference.ScoreJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan score}: loss (and logits) of token ids under a model. */
@Command(name = "score",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Prints the loss of token ids under an HF-layout Llama model.",
        description = {"Scores token ids under an HF-layout Llama model (fp32).",
            "Input: one JSON object per line, {\"input_ids\": [...], \"loss_mask\": [...]} (loss_mask optional, "
                + "same length).",
            "Loss = mean next-token NLL over positions t >= 1 with loss_mask[t] = 1 (token t predicted from tokens "
                + "0..t-1, the alignment of data-prep shards); without loss_mask every token after the first counts.",
            "Output: one line per input line, {\"loss\": x, \"tokens\": n} (loss null when nothing counts); with "
                + "--logits also \"logits\": [seq][vocab] float32, row t scoring the token at t+1.",
            "A summary (lines, tokens, mean loss) goes to stderr."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan score --input ids.jsonl \\",
            "      --model work/runs/tiny/checkpoints/step_00000040/model",
            "  scripts/agentflan score --input ids.jsonl --logits \\",
            "      --model work/runs/tiny/checkpoints/step_00000040/model > logits.jsonl"})
public final class ScoreCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "HF model directory: config.json and model.safetensors or shards with model.safetensors.index.json.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "JSONL file of token ids.")
    Path input;

    @Option(names = "--logits", description = "Also print the full logits of every position (large: seq x vocab numbers).")
    boolean logits;

    @Override
    public Integer call() {
        InputPaths.folder("--model", model, InputPaths.MODEL);
        InputPaths.file("--input", input, "a JSONL file of {\"input_ids\": [...]} lines, e.g. what 'agentflan render'"
                + " prints");
        Writer out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        try {
            ScoreJob.Summary summary = ScoreJob.run(model, input, logits, out);
            System.err.printf("scored %d lines, %d tokens, mean loss %.6f%n", summary.lines(), summary.tokens(),
                    summary.meanLoss());
            return 0;
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        } catch (IOException e) {
            throw new UserError("cannot score with model " + model + ": " + IoFailure.describe(e), e);
        } catch (UncheckedIOException e) {
            throw new UserError(IoFailure.describe(e), e);
        }
    }
}
