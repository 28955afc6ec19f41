package org.agentflan.launch;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.agentflan.dataprep.tokenize.TextTools;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan tokenize}: text to ids exactly as the data stage tokenizes it. */
@Command(name = "tokenize",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Prints the token ids of texts, as the data stage tokenizes them.",
        description = {"Tokenizes text exactly as the data stage does (Llama-2 tokenizer, no BOS/EOS, ",
            "literal <s>, </s>, <unk> encoded as text).",
            "Input: one JSON string per line. Output: one JSON array of token ids per line."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  echo '\"Hello <s> world\"' | scripts/agentflan tokenize \\",
            "      --tokenizer sample-data/llama2-tokenizer --input /dev/stdin",
            "  scripts/agentflan tokenize --input texts.jsonl \\",
            "      --tokenizer sample-data/llama2-tokenizer/tokenizer.json"})
public final class TokenizeCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Directory holding tokenizer.json (or the file itself), e.g. sample-data/llama2-tokenizer.")
    Path tokenizer;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "File with one JSON string per line.")
    Path input;

    @Override
    public Integer call() {
        InputPaths.exists("--tokenizer", tokenizer, InputPaths.TOKENIZER);
        InputPaths.file("--input", input, "a file of one JSON string per line");
        try {
            TextTools.tokenize(tokenizer, input, System.out);
            return 0;
        } catch (TextTools.InputError | IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        }
    }
}
