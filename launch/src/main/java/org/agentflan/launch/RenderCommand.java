package org.agentflan.launch;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.agentflan.dataprep.tokenize.MarkersInText;
import org.agentflan.dataprep.tokenize.OverLengthPolicy;
import org.agentflan.dataprep.tokenize.SampleEncoder;
import org.agentflan.dataprep.tokenize.TextTools;
import org.agentflan.format.Llama2Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code agentflan render}: conversations to the ids and loss mask a shard would hold. */
@Command(name = "render",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Prints conversations as the token ids and loss mask of shard rows.",
        description = {"Renders conversations with the Agent-FLAN template and tokenizes them exactly as a shard",
            "row holds them. Input: Agent-FLAN release records, one per line:",
            "  {\"id\": ..., \"conversation\": [{\"role\": \"user\", \"content\": ..., \"loss\": false}, ...]}",
            "Output per line: {\"input_ids\": [...], \"loss_mask\": [...]}, {\"id\": ..., \"rejected\": kind,",
            "\"reason\": ...} for a record prepare would reject, or with --pretty the text with",
            "loss-carrying tokens highlighted (green on a terminal, [[...]] otherwise)."},
        footerHeading = Main.EXAMPLES,
        footer = {
            "  scripts/agentflan render --tokenizer sample-data/llama2-tokenizer \\",
            "      --input sample-data/agent-flan/toolbench_react_sample.jsonl --pretty",
            "  scripts/agentflan render --tokenizer sample-data/llama2-tokenizer \\",
            "      --input sample-data/agent-flan/toolbench_tflan_sample.jsonl \\",
            "      --max-length 512 --over-length truncate_turns > ids.jsonl"})
public final class RenderCommand implements Callable<Integer> {
    @Option(names = "--tokenizer", required = true, paramLabel = "DIR",
            description = "Directory holding tokenizer.json (or the file itself).")
    Path tokenizer;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Agent-FLAN release JSONL file.")
    Path input;

    @Option(names = "--pretty", description = "Show the text with loss tokens highlighted instead of JSON.")
    boolean pretty;

    @Option(names = "--max-length", defaultValue = "4096", description = "Token limit per sample (default ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--over-length", defaultValue = "drop",
            description = "drop or truncate_turns, as the data config's over_length (default ${DEFAULT-VALUE}).")
    String overLength;

    @Option(names = "--eos", description = "Append EOS (</s>) after the last turn, as template.eos: true does.")
    boolean eos;

    @Option(names = "--markers-in-text", defaultValue = "reject",
            description = "reject or keep a conversation whose text holds a template marker (<|Human|>, <|Assistant|>),"
                    + " as the data config's markers_in_text (default ${DEFAULT-VALUE}).")
    String markersInText;

    @Override
    public Integer call() {
        InputPaths.exists("--tokenizer", tokenizer, InputPaths.TOKENIZER);
        InputPaths.file("--input", input, "an Agent-FLAN release JSONL file, one conversation record per line");
        try {
            OverLengthPolicy policy = OverLengthPolicy.of(overLength);
            SampleEncoder encoder = new SampleEncoder(Llama2Tokenizer.shared(tokenizer), maxLength, policy, eos,
                    MarkersInText.of(markersInText));
            TextTools.Highlight highlight = !pretty ? null
                    : System.console() != null ? TextTools.Highlight.ANSI : TextTools.Highlight.BRACKETS;
            TextTools.render(input, encoder, highlight, System.out);
            return 0;
        } catch (TextTools.InputError | IllegalArgumentException e) {
            throw new UserError(e.getMessage(), e);
        }
    }
}
