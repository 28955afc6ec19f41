package org.agentflan.launch.eval;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentflan.format.ChatTemplate;
import org.agentflan.format.ChatTurn;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Llama2Tokenizer;
import org.agentflan.format.Manifest;
import org.agentflan.launch.UserError;
import org.agentflan.trainer.TrainConfig;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.data.ShardReader;
import org.agentflan.trainer.eval.LossReport;
import org.agentflan.trainer.inference.ComputeType;
import org.agentflan.trainer.inference.Generator;
import org.agentflan.trainer.model.LlamaModel;

/**
 * {@code agentflan eval}: the loss of a model on a prepared folder's split (overall, per capability and per source:
 * a {@link LossReport}, as training's eval computes it), and the hallucination and tool-use probes on the
 * conversations {@code prepare} kept beside the shards.
 *
 * <p>The loss packs the split's samples as the run did (its {@code data.seq_len}, {@code data.overlong},
 * {@code batch.micro_batch} and {@code model.chunk_tokens} when its config is known; else one sample per row of the
 * model's {@code max_position_embeddings}, split when longer) and reports on all of their rows.
 */
public final class EvalJob {
    /** @param maxSamples at most this many samples per section (loss samples, negatives, tool-call steps) */
    public record Options(Path modelDir, Path dataDir, Path trainConfig, Path tokenizerDir, String split,
                          int maxSamples, int maxNewTokens, int batchSize, String dtype) {}

    /** Without the run's config, loss tokens are projected onto the vocabulary this many at a time. */
    private static final int CHUNK_TOKENS = 1024;

    private EvalJob() {}

    public static EvalReport run(Options o, PrintWriter progress) throws IOException {
        if (o.maxSamples() <= 0 || o.maxNewTokens() <= 0 || o.batchSize() <= 0) {
            throw new UserError("--max-samples, --max-new-tokens and --batch-size must be > 0");
        }
        if (!Files.isRegularFile(o.modelDir().resolve(HfCheckpoint.CONFIG_FILE))) {
            throw new UserError("model folder " + o.modelDir() + (Files.isDirectory(o.modelDir()) ? " has no "
                    + HfCheckpoint.CONFIG_FILE : " does not exist") + "; point --model at an HF model folder, e.g. a"
                    + " checkpoint's <run>/checkpoints/step_N/model");
        }
        if (!Files.isRegularFile(o.dataDir().resolve(Manifest.FILE_NAME))) {
            throw new UserError("data folder " + o.dataDir() + (Files.isDirectory(o.dataDir()) ? " has no "
                    + Manifest.FILE_NAME + " (not a finished prepare output)" : " does not exist")
                    + "; run 'agentflan prepare --config FILE' to make one");
        }
        Path tokenizerDir = o.tokenizerDir() != null ? o.tokenizerDir() : o.modelDir();
        if (!Files.isRegularFile(Llama2Tokenizer.jsonFile(tokenizerDir))) {
            throw new UserError(tokenizerDir + " has no " + Llama2Tokenizer.FILE_NAME
                    + "; pass --tokenizer DIR (the tokenizer the data was prepared with)");
        }
        TrainConfig run = EvalSplit.runConfig(o.trainConfig(), o.modelDir());
        EvalSplit split = EvalSplit.of(o.split(), run, o.dataDir());
        try (Llama2Tokenizer tokenizer = Llama2Tokenizer.load(tokenizerDir)) {
            ShardReader.DataDir data = ShardReader.read(o.dataDir(), manifest -> {
                if (!tokenizer.sha256().equalsIgnoreCase(manifest.tokenizerSha256())) {
                    throw new UserError(o.dataDir().resolve(Manifest.FILE_NAME) + ": tokenizer_sha256 is "
                            + manifest.tokenizerSha256() + " but " + tokenizer.file() + " has sha256 " + tokenizer.sha256()
                            + "; evaluate with the tokenizer the data was prepared with (--tokenizer DIR)");
                }
            });
            List<Sample> samples = data.samples().stream().filter(s -> split.contains(s.id())).toList();
            String unavailable = data.manifest().conversations() ? null : o.dataDir() + " was prepared without its"
                    + " conversations (before agentflan eval existed); re-run 'agentflan prepare' with its config to add"
                    + " them";
            List<ConversationRecord> records = unavailable == null ? ConversationRecord.readAll(o.dataDir()) : List.of();
            try (NDManager manager = NDManager.newBaseManager();
                 LlamaModel model = HfCheckpoint.loadModel(o.modelDir(), manager)) {
                DataType type = ComputeType.parse(o.dtype(), manager.getDevice());
                requireVocabulary(samples, model.config().vocabSize(), o.dataDir());
                List<Sample> lossSamples = samples.subList(0, Math.min(samples.size(), o.maxSamples()));
                EvalReport.Loss loss = new EvalReport.Loss(lossSamples.size(), lossSamples.isEmpty() ? null
                        : loss(model, manager, type, run, lossSamples));
                if (unavailable != null) {
                    return new EvalReport(o.modelDir().toString(), o.dataDir().toString(), split.name() + " ("
                            + split.description() + ")", samples.size(), loss, null, null, unavailable);
                }
                Set<Long> stops = new LinkedHashSet<>(List.of((long) model.config().eosTokenId(),
                        (long) ChatTemplate.assistantEndId(tokenizer)));
                Replies replies = new Replies(new Generator(model, type), tokenizer, stops, o.maxNewTokens(),
                        o.batchSize(), model.config().maxPositionEmbeddings(), progress);

                List<HallucinationProbe.Item> items = HallucinationProbe.items(records, split, o.maxSamples());
                HallucinationProbe.Result hallucination = HallucinationProbe.score(items,
                        replies.of(items.stream().map(HallucinationProbe.Item::react).toList(), "hallucination (react)"),
                        replies.of(items.stream().map(HallucinationProbe.Item::general).toList(), "hallucination (general)"));

                List<ToolUseProbe.Step> steps = ToolUseProbe.steps(records, split, o.maxSamples());
                List<String> nameReplies = replies.of(steps.stream().map(ToolUseProbe.Step::namePrompt).toList(),
                        "tool_use (name)");
                List<Integer> chatSteps = new ArrayList<>();
                List<List<ChatTurn>> argsPrompts = new ArrayList<>();
                for (int i = 0; i < steps.size(); i++) {
                    if (steps.get(i).argsPrompt() != null) {
                        chatSteps.add(i);
                        argsPrompts.add(steps.get(i).argsPrompt());
                    }
                }
                List<String> argsOfChat = replies.of(argsPrompts, "tool_use (arguments)");
                List<String> argsReplies = new ArrayList<>();
                steps.forEach(s -> argsReplies.add(null));
                for (int k = 0; k < chatSteps.size(); k++) {
                    argsReplies.set(chatSteps.get(k), argsOfChat.get(k));
                }
                ToolUseProbe.Result toolUse = ToolUseProbe.score(steps, nameReplies, argsReplies);
                return new EvalReport(o.modelDir().toString(), o.dataDir().toString(), split.name() + " ("
                        + split.description() + ")", samples.size(), loss, hallucination, toolUse, null);
            }
        }
    }

    /** Every token id must be a row of the embedding; checked on the host, as training checks its data. */
    private static void requireVocabulary(List<Sample> samples, int vocab, Path dataDir) {
        for (Sample s : samples) {
            for (int id : s.inputIds()) {
                if (id < 0 || id >= vocab) {
                    throw new UserError(dataDir + ": sample " + s.id() + " holds token id " + id + ", outside the model's"
                            + " vocabulary of " + vocab + " (was the data tokenized for another model?)");
                }
            }
        }
    }

    /** The {@link LossReport} of every packed row of {@code samples}, packed and batched as the run did when known. */
    private static LossReport loss(LlamaModel model, NDManager manager, DataType type, TrainConfig run,
                                   List<Sample> samples) {
        Packer packer = run != null ? new Packer(run.data().seqLen(), run.data().overlong())
                : new Packer(model.config().maxPositionEmbeddings(), Packer.Overlong.SPLIT);
        LossReport.Settings settings = new LossReport.Settings(run != null ? run.batch().microBatch() : 1,
                Integer.MAX_VALUE, run != null ? run.model().chunkTokens() : CHUNK_TOKENS, type);
        return LossReport.compute(model, samples, packer, settings, manager);
    }
}
