package org.agentflan.trainer.inference;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaModel;

/**
 * {@code agentflan generate}: render the Agent-FLAN prompt with the data stage's own template and tokenizer
 * ({@link ChatTemplate#promptIds}), decode with a KV cache until the assistant end marker or EOS, detokenize.
 */
public final class GenerateJob {
    /** What to generate; {@code system} may be null; temperature 0 means greedy. */
    public record Options(Path modelDir, Path tokenizerDir, String system, String prompt, int maxNewTokens,
                          double temperature, double topP, long seed, String dtype) {}

    /** The reply text, its token ids, the prompt's token count, and why decoding stopped. */
    public record Output(String text, List<Long> tokens, int promptTokens, Generator.StopReason reason,
                         double tokensPerSecond) {}

    private GenerateJob() {
    }

    public static Output run(Options options) throws IOException {
        List<ChatTurn> history = new ArrayList<>();
        if (options.system() != null) {
            history.add(ChatTurn.system(options.system()));
        }
        history.add(ChatTurn.user(options.prompt()));
        try (NDManager manager = NDManager.newBaseManager();
             Llama2Tokenizer tokenizer = Llama2Tokenizer.load(options.tokenizerDir());
             LlamaModel model = HfCheckpoint.loadModel(options.modelDir(), manager)) {
            DataType type = ComputeType.parse(options.dtype(), manager.getDevice());
            long[] prompt = Arrays.stream(ChatTemplate.promptIds(tokenizer, history)).asLongStream().toArray();
            Set<Long> stops = new LinkedHashSet<>();
            stops.add((long) model.config().eosTokenId());
            stops.add((long) ChatTemplate.assistantEndId(tokenizer));
            Sampler sampler = new Sampler(options.temperature(), options.topP(), options.seed());
            Generator.Result result = new Generator(model, type).generate(prompt, options.maxNewTokens(), stops, sampler);
            int[] ids = result.tokens().stream().mapToInt(Long::intValue).toArray();
            return new Output(tokenizer.decode(ids), result.tokens(), prompt.length, result.reason(),
                    result.tokensPerSecond());
        }
    }
}
