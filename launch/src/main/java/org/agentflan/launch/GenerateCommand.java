package org.agentflan.launch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.agentflan.trainer.inference.GenerateJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan generate}: one assistant reply to a prompt in the Agent-FLAN template. */
@Command(name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Generates an assistant reply to a prompt with a Llama model.",
        description = {"Generates an assistant reply with an HF-layout Llama model and a KV cache.",
            "The prompt is rendered in the Agent-FLAN template (optional system turn, user turn, assistant begin "
                + "marker), prefixed with BOS; decoding stops at the assistant end marker (U+0D3F), EOS or "
                + "--max-new-tokens. The reply goes to stdout, statistics to stderr."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan generate --tokenizer sample-data/llama2-tokenizer \\",
            "      --model work/runs/tiny/checkpoints/step_00000040/model \\",
            "      --prompt \"I need the weather in Paris. Which tool should I call?\"",
            "  scripts/agentflan generate --model /models/Llama-2-7b-chat-hf \\",
            "      --tokenizer /models/Llama-2-7b-chat-hf --prompt \"List the files in /tmp\" \\",
            "      --system \"You are a helpful assistant.\" --temperature 0.7 --top-p 0.9"})
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR", description = "HF model directory (config.json + safetensors).")
    Path model;

    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Directory with tokenizer.json, e.g. sample-data/llama2-tokenizer or the model directory.")
    Path tokenizer;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The user turn.")
    String prompt;

    @Option(names = "--system", paramLabel = "TEXT", description = "Optional system turn before the user turn.")
    String system;

    @Option(names = "--max-new-tokens", paramLabel = "N", defaultValue = "256", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0",
            description = "0 decodes greedily; above 0 samples from softmax(logits / T) (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0",
            description = "Nucleus sampling: sample among the most likely tokens holding probability P (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32",
            description = "Compute dtype: float32, or float16/bfloat16 on a GPU (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() {
        InputPaths.folder("--model", model, InputPaths.MODEL);
        InputPaths.exists("--tokenizer", tokenizer, InputPaths.TOKENIZER + ", or the model folder");
        try {
            GenerateJob.Output output = GenerateJob.run(new GenerateJob.Options(model, tokenizer, system, prompt,
                    maxNewTokens, temperature, topP, seed, dtype));
            System.out.println(output.text());
            System.err.printf("prompt %d tokens, generated %d tokens (%.1f tokens/s), stopped: %s%n",
                    output.promptTokens(), output.tokens().size(), output.tokensPerSecond(),
                    output.reason().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
            return 0;
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        } catch (IOException e) {
            throw new UserError("cannot generate with model " + model + ": " + IoFailure.describe(e), e);
        }
    }
}
