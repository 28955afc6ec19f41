package org.agentflan.trainer.inference;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Map;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaModel;

/** {@code agentflan generate}: render the Agent-FLAN prompt, tokenize, decode with a KV cache, detokenize. */
public final class GenerateJob {
    /** What to generate; {@code system} may be null; temperature 0 means greedy. */
    public record Options(Path modelDir, Path tokenizerDir, String system, String prompt, int maxNewTokens,
                          double temperature, double topP, long seed, String dtype) {}

    /** The reply text, its token ids, the prompt's token count, and why decoding stopped. */
    public record Output(String text, List<Long> tokens, int promptTokens, Generator.StopReason reason,
                         double tokensPerSecond) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private GenerateJob() {
    }

    public static Output run(Options options) throws IOException {
        Path tokenizerFile = options.tokenizerDir().resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new IllegalArgumentException("no tokenizer.json in " + options.tokenizerDir()
                    + " (pass the directory of an HF fast tokenizer, e.g. sample-data/llama2-tokenizer)");
        }
        try (NDManager manager = NDManager.newBaseManager();
             HuggingFaceTokenizer tokenizer = tokenizer(options.tokenizerDir());
             LlamaModel model = HfCheckpoint.loadModel(options.modelDir(), manager)) {
            DataType type = ComputeType.parse(options.dtype(), manager.getDevice());
            long[] prompt = encodePrompt(tokenizer, model.config().bosTokenId(), options.system(), options.prompt());
            Set<Long> stops = new LinkedHashSet<>();
            stops.add((long) model.config().eosTokenId());
            stops.add(assistantEndId(tokenizer));
            Sampler sampler = new Sampler(options.temperature(), options.topP(), options.seed());
            Generator.Result result = new Generator(model, type).generate(prompt, options.maxNewTokens(), stops, sampler);
            long[] ids = result.tokens().stream().mapToLong(Long::longValue).toArray();
            return new Output(tokenizer.decode(ids, true), result.tokens(), prompt.length, result.reason(),
                    result.tokensPerSecond());
        }
    }

    /**
     * Llama-2's tokenizer encoding text as SentencePiece does. DJL truncates to 512 and pads by default (both off,
     * no automatic BOS), and HF tokenizers match {@code <s>}/{@code </s>} inside text as special tokens: the
     * {@code added_tokens} list is emptied before loading, which leaves every vocabulary id unchanged.
     */
    public static HuggingFaceTokenizer tokenizer(Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        ObjectNode tree = (ObjectNode) JSON.readTree(file.toFile());
        tree.putArray("added_tokens");
        return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(JSON.writeValueAsBytes(tree)),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    }

    /** BOS id, then the rendered template encoded as text (a literal "</s>" in the prompt stays text). */
    public static long[] encodePrompt(HuggingFaceTokenizer tokenizer, int bos, String system, String user) {
        long[] text = tokenizer.encode(ChatPrompt.render(system, user)).getIds();
        long[] ids = new long[text.length + 1];
        ids[0] = bos;
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** The single token of U+0D3F (30387 in Llama-2's vocabulary), looked up rather than assumed. */
    static long assistantEndId(HuggingFaceTokenizer tokenizer) {
        long[] ids = tokenizer.encode(ChatPrompt.ASSISTANT_END).getIds();
        for (long id : ids) {
            if (tokenizer.decode(new long[] {id}, false).equals(ChatPrompt.ASSISTANT_END)) {
                return id;
            }
        }
        throw new IllegalArgumentException("the tokenizer has no single token for the assistant end marker U+0D3F (got "
                + Arrays.toString(ids) + "): it is not Llama-2's tokenizer");
    }
}
