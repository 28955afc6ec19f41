package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentflan.dataprep.prepare.DataConfig;
import org.agentflan.dataprep.prepare.PrepareJob;
import org.agentflan.format.ConversationRecord;
import org.agentflan.format.Manifest;
import org.agentflan.trainer.HoldoutSplit;
import org.agentflan.trainer.checkpoint.AtomicFileWriter;
import org.agentflan.trainer.checkpoint.CheckpointManager;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.model.LlamaConfig;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code agentflan eval} on a model trained in the test: a synthetic tool task where the right tool follows from the
 * request (weather -> get_weather, a share price -> get_stock_price, with JSON arguments), prepared through the real
 * {@code prepare} path (an agent_flan JSONL source, the conversations kept beside the shards), trained with the tiny
 * recipe for a few dozen steps on CPU, then evaluated on the held-out split the training used. The trained model must
 * name the right tool far more often than the same model untrained (the trainer's own initial weights).
 */
class EvalEndToEndTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path TOKENIZER = ROOT.resolve("sample-data/llama2-tokenizer");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SYSTEM = "You can call these tools: [{\"name\": \"get_weather\", \"parameters\": "
            + "{\"city\": \"string\"}}, {\"name\": \"get_stock_price\", \"parameters\": {\"symbol\": \"string\"}}]";
    private static final int STEPS = 60;
    @TempDir Path tmp;

    @Test
    void aTrainedModelPicksTheRightToolFarMoreOftenThanUntrained() throws Exception {
        Path data = prepare();
        Manifest manifest = Manifest.read(data.resolve(Manifest.FILE_NAME));
        assertTrue(manifest.conversations());
        List<ConversationRecord> records = ConversationRecord.readAll(data);
        assertEquals(manifest.totals().emitted(), records.size());
        assertEquals(24, records.stream().filter(ConversationRecord::negative).count());

        Path trainYaml = tmp.resolve("train.yaml");
        Files.writeString(trainYaml, String.join("\n",
                "run_dir: " + tmp.resolve("run"),
                "seed: 5",
                "threads: 2",
                "model: {init: tiny, seed: 0, tokenizer_dir: " + TOKENIZER + "}",
                "data: {dirs: [" + data + "], holdout_fraction: 0.25, seq_len: 128}",
                "batch: {micro_batch: 8, grad_accum: 1}",
                "max_steps: " + STEPS,
                "optimizer: {lr: 5.0e-3, weight_decay: 0.0}",
                "schedule: {kind: cosine, warmup_steps: 5, min_lr_ratio: 0.1}",
                "checkpoint: {every: " + STEPS + ", keep: 1}",
                "eval: {every: 0}", ""));
        CliRun train = CliRun.of("train", "--config", trainYaml.toString());
        assertEquals(0, train.code(), train.out() + train.err());
        Matcher counts = Pattern.compile("data: (\\d+) train samples .* (\\d+) eval samples").matcher(train.out());
        assertTrue(counts.find(), train.out());
        int heldOut = Integer.parseInt(counts.group(2));
        // eval's split is the one training evaluated on: the same ids by the same rule, seed and fraction.
        assertEquals(heldOut, records.stream().filter(r -> HoldoutSplit.heldOut(5, 0.25, r.id())).count());

        Path trained = tmp.resolve("run/checkpoints").resolve(CheckpointManager.dirName(STEPS)).resolve("model");
        Path untrained = untrainedModel();
        // The trained checkpoint's split comes from its trainer_state.json, the untrained one's from --train-config.
        JsonNode after = evalJson("--model", trained.toString());
        JsonNode before = evalJson("--model", untrained.toString(), "--train-config", trainYaml.toString());

        for (JsonNode report : List.of(after, before)) {
            assertEquals(Math.min(heldOut, 24), report.get("loss").get("samples").asInt(), report.toString());
            assertEquals(24, report.get("tool_use").get("samples").asInt(), report.toString());
            assertTrue(report.get("hallucination").get("samples").asInt() >= 1, report.toString());
            assertEquals(List.of("chat", "tools"), List.copyOf(iterable(report.get("loss").get("by_source"))));
            // The data is format version 2: the loss per capability is there, over the same tokens as per source.
            JsonNode loss = report.get("loss");
            assertFalse(loss.get("by_capability").isEmpty(), report.toString());
            assertEquals(List.copyOf(iterable(loss.get("by_capability"))),
                    List.copyOf(iterable(loss.get("tokens_by_capability"))), report.toString());
            assertEquals(sum(loss.get("tokens_by_capability")), sum(loss.get("tokens_by_source")), report.toString());
        }
        System.err.println("EvalEndToEndTest: trained " + after + "\nEvalEndToEndTest: untrained " + before);
        double trainedNames = after.get("tool_use").get("name_accuracy").asDouble();
        double untrainedNames = before.get("tool_use").get("name_accuracy").asDouble();
        assertTrue(trainedNames >= untrainedNames + 0.4, "name_accuracy trained " + trainedNames + " vs untrained "
                + untrainedNames + "\n" + after + "\n" + before);
        assertTrue(after.get("loss").get("overall").asDouble() < before.get("loss").get("overall").asDouble() - 2,
                after + "\n" + before);

        CliRun table = CliRun.of("eval", "--model", trained.toString(), "--data", data.toString(), "--split", "all",
                "--max-samples", "2", "--max-new-tokens", "4");
        assertEquals(0, table.code(), table.out() + table.err());
        assertTrue(table.out().contains("split all") && table.out().contains("tool_use") && table.out().contains(
                "hallucination") && table.out().contains("source tools") && table.out().contains("capability "),
                table.out());
        assertTrue(table.err().contains("replies/s") && table.err().contains("ETA"), table.err());

        // Errors name the path and what to do.
        CliRun noModel = CliRun.of("eval", "--model", tmp.resolve("nope").toString(), "--data", data.toString());
        assertEquals(2, noModel.code());
        assertTrue(noModel.err().contains("--model " + tmp.resolve("nope") + ": no such folder") && noModel.err().contains(
                "checkpoints/step_N/model"), noModel.err());
        CliRun noSplit = CliRun.of("eval", "--model", untrained.toString(), "--data", data.toString());
        assertEquals(2, noSplit.code());
        assertTrue(noSplit.err().contains("--train-config") && noSplit.err().contains("--split all"), noSplit.err());
        // A folder of format version 1, prepared before the conversations were kept: the overall loss with a note on
        // the missing capability labels, and the probes say what to do.
        Path older = olderFolder(data);
        CliRun old = CliRun.of("eval", "--model", trained.toString(), "--data", older.toString(), "--split", "all",
                "--json", "--max-samples", "4");
        assertEquals(0, old.code(), old.out() + old.err());
        JsonNode oldReport = JSON.readTree(old.out());
        assertEquals(4, oldReport.get("loss").get("samples").asInt());
        assertTrue(oldReport.get("loss").get("note").asText().contains("re-run 'agentflan prepare'"), old.out());
        assertFalse(oldReport.get("loss").has("by_capability"), old.out());
        assertTrue(oldReport.get("tool_use").get("unavailable").asText().contains("re-run 'agentflan prepare'"), old.out());
    }

    /** The synthetic corpus, prepared by the real stage: tool requests, and chats marked negative. */
    private Path prepare() throws Exception {
        Random random = new Random(1);
        String[] cities = {"Paris", "Oslo", "Lima", "Cairo", "Tokyo", "Rome", "Quito", "Dakar", "Bern", "Hanoi", "Perth", "Riga"};
        String[] symbols = {"AAPL", "MSFT", "TSLA", "AMZN", "NVDA", "IBM", "ORCL", "INTC", "SAP", "SONY", "UBER", "SHOP"};
        String[] weather = {"What is the weather in %s today?", "Will it rain in %s tomorrow?",
            "How warm is it in %s right now?", "Tell me the weather forecast for %s."};
        String[] stock = {"What is the stock price of %s?", "How much does one %s share cost now?",
            "Give me the current %s stock quote.", "Is %s stock up today?"};
        List<String> tasks = new ArrayList<>();
        for (int i = 0; i < 160; i++) {
            boolean isWeather = random.nextBoolean();
            String value = isWeather ? cities[random.nextInt(cities.length)] : symbols[random.nextInt(symbols.length)];
            String request = String.format((isWeather ? weather : stock)[random.nextInt(4)], value);
            tasks.add(line("t" + i, List.of(
                    turn("system", SYSTEM), turn("user", request),
                    turn("assistant", isWeather ? "get_weather" : "get_stock_price"),
                    turn("user", "What arguments will you pass to it?"),
                    turn("assistant", "{\"" + (isWeather ? "city" : "symbol") + "\": \"" + value + "\"}"))));
        }
        String[] chats = {"Tell me a joke.", "Say hello.", "What is two plus two?", "Name a colour."};
        List<String> negatives = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            negatives.add(line("c" + i, List.of(turn("system", SYSTEM), turn("user", chats[i % chats.length]),
                    turn("assistant", "Sure, no tool is needed for that."))));
        }
        Files.write(tmp.resolve("tasks.jsonl"), tasks);
        Files.write(tmp.resolve("chat.jsonl"), negatives);
        Path out = tmp.resolve("data");
        Path yaml = tmp.resolve("data.yaml");
        Files.writeString(yaml, String.join("\n",
                "sources:",
                "  - {name: tools, path: " + tmp.resolve("tasks.jsonl") + ", format: agent_flan}",
                "  - {name: chat, path: " + tmp.resolve("chat.jsonl") + ", format: agent_flan}",
                "tokenizer: " + TOKENIZER,
                "max_length: 256",
                "seed: 3",
                "output: " + out,
                "partitions: 1",
                "negatives: {enabled: false, file_sources: [chat]}",
                "capability_balance: {enabled: false}", ""));
        PrepareJob.run(DataConfig.load(yaml, List.of()));
        return out;
    }

    /** The tiny recipe's starting weights (model.seed 0) as an HF folder: the trained model before training. */
    private Path untrainedModel() throws Exception {
        Path dir = tmp.resolve("untrained");
        Files.createDirectories(dir);
        try (NDManager manager = NDManager.newBaseManager();
             LlamaModel model = LlamaModel.create(LlamaConfig.tiny(), manager, 0)) {
            HfCheckpoint.write(AtomicFileWriter.UNOBSERVED, dir, model.config(), model.parameters(), Long.MAX_VALUE,
                    DataType.FLOAT32, TOKENIZER);
        }
        return dir;
    }

    /** A copy of the folder as prepare wrote it before keeping conversations: no conversations/, no manifest field. */
    private Path olderFolder(Path data) throws Exception {
        Path older = tmp.resolve("older");
        Files.createDirectories(older.resolve("shards"));
        try (var shards = Files.list(data.resolve("shards"))) {
            for (Path shard : shards.toList()) {
                Files.copy(shard, older.resolve("shards").resolve(shard.getFileName()));
            }
        }
        ObjectNode manifest = (ObjectNode) JSON.readTree(data.resolve(Manifest.FILE_NAME).toFile());
        manifest.remove("conversations");
        manifest.put("format_version", 1); // its shards' capability_ids are then not read
        Files.writeString(older.resolve(Manifest.FILE_NAME), manifest.toString());
        return older;
    }

    private JsonNode evalJson(String... model) throws Exception {
        List<String> args = new ArrayList<>(List.of("eval", "--data", tmp.resolve("data").toString(), "--json",
                "--max-new-tokens", "12", "--max-samples", "24"));
        args.addAll(List.of(model));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.code(), run.out() + run.err());
        return JSON.readTree(run.out());
    }

    private static String line(String id, List<String> turns) {
        return "{\"id\": \"" + id + "\", \"conversation\": [" + String.join(", ", turns) + "]}";
    }

    private static String turn(String role, String content) throws Exception {
        return "{\"role\": \"" + role + "\", \"content\": " + JSON.writeValueAsString(content) + "}";
    }

    private static List<String> iterable(JsonNode object) {
        List<String> keys = new ArrayList<>();
        object.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    private static long sum(JsonNode counts) {
        long total = 0;
        for (JsonNode count : counts) {
            total += count.asLong();
        }
        return total;
    }
}
