package org.agentflan.trainer.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.agentflan.trainer.checkpoint.HfCheckpoint;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.model.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LossReport} against {@code scripts/reference/loss_report_reference.py}, which runs each packed piece of the
 * same samples alone through a float64 Llama written from the equations and averages the NLL per capability and
 * per source by the labels: packing several samples per row, splitting a long sample, dropping a piece without loss,
 * and a balancer-masked turn all have to come out as the reference computes them.
 */
class LossReportTest {
    private static final double TOLERANCE = 1e-5;
    private static JsonNode golden;
    private static List<Sample> samples;

    @BeforeAll
    static void load() throws Exception {
        golden = new ObjectMapper().readTree(resource("loss_report.json").toFile());
        samples = new ArrayList<>();
        for (JsonNode s : golden.get("samples")) {
            samples.add(new Sample(s.get("id").asText(), s.get("source").asText(), ints(s.get("input_ids")),
                    ints(s.get("loss_mask")), ints(s.get("capability_ids"))));
        }
    }

    @Test
    void packedRowsGiveTheReferenceLossesOverallPerCapabilityAndPerSource() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = model(manager)) {
            // 2 rows per forward pass and chunks of 5 tokens: several batches, several chunks each, a partial last one
            LossReport report = LossReport.compute(model, samples, packer(),
                    new LossReport.Settings(2, 100, 5, DataType.FLOAT32), manager);
            assertMatchesGolden(report);
        }
    }

    @Test
    void twoRanksSharingTheBatchesGiveTheSameFigures() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = model(manager)) {
            LossReport.Settings settings = new LossReport.Settings(1, 100, 7, DataType.FLOAT32);
            // Rank 1 runs first and keeps its local sums; rank 0's sum then adds them, as an all-reduce would.
            double[][] rankOne = new double[1][];
            LossReport.compute(model, samples, packer(), settings, manager, share(1, local -> {
                rankOne[0] = local.clone();
                return local;
            }));
            LossReport report = LossReport.compute(model, samples, packer(), settings, manager, share(0, local -> {
                assertEquals(rankOne[0].length, local.length, "every rank sums a vector of the same length");
                double[] sum = local.clone();
                for (int i = 0; i < sum.length; i++) sum[i] += rankOne[0][i];
                return sum;
            }));
            assertMatchesGolden(report);
        }
    }

    @Test
    void samplesWithoutLabelsGiveTheOverallLossAndANote() throws Exception {
        List<Sample> unlabelled = samples.stream()
                .map(s -> new Sample(s.id(), s.source(), s.inputIds(), s.lossMask(), null)).toList();
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = model(manager)) {
            LossReport report = LossReport.compute(model, unlabelled, packer(),
                    new LossReport.Settings(4, 100, 64, DataType.FLOAT32), manager);
            assertFalse(report.labelled());
            assertTrue(report.byCapability().isEmpty() && report.bySource().isEmpty());
            assertEquals(golden.get("overall").asDouble(), report.overall(), TOLERANCE * report.overall());
            assertEquals(LossReport.NO_LABELS, report.toJson().get("note").asText());
            assertFalse(report.toJson().has("by_capability"));
        }
    }

    @Test
    void maxRowsBoundsTheRowsEvaluated() throws Exception {
        try (NDManager manager = NDManager.newBaseManager(); LlamaModel model = model(manager)) {
            LossReport one = LossReport.compute(model, samples, packer(),
                    new LossReport.Settings(4, 1, 64, DataType.FLOAT32), manager);
            LossReport all = LossReport.compute(model, samples, packer(),
                    new LossReport.Settings(4, 100, 64, DataType.FLOAT32), manager);
            assertTrue(one.lossTokens() > 0 && one.lossTokens() < all.lossTokens(),
                    one.lossTokens() + " loss tokens in the first row vs " + all.lossTokens());
        }
    }

    private static void assertMatchesGolden(LossReport report) {
        assertTrue(report.labelled());
        assertEquals(golden.get("loss_tokens").asLong(), report.lossTokens());
        assertClose(golden.get("overall").asDouble(), report.overall(), "overall");
        assertMeans(golden.get("by_capability"), golden.get("tokens_by_capability"), report.byCapability(),
                report.capabilityTokens());
        assertFalse(report.byCapability().containsKey("instruction_following"), "a capability without tokens is absent");
        assertMeans(golden.get("by_source"), golden.get("tokens_by_source"), report.bySource(), report.sourceTokens());
        JsonNode json = report.toJson();
        assertEquals(report.overall(), json.get("overall").asDouble());
        assertEquals(golden.get("by_capability").size(), json.get("by_capability").size());
    }

    private static void assertMeans(JsonNode means, JsonNode counts, Map<String, Double> actual, Map<String, Long> actualCounts) {
        assertEquals(means.size(), actual.size(), actual.toString());
        Iterator<String> names = means.fieldNames();
        while (names.hasNext()) {
            String name = names.next();
            assertTrue(actual.containsKey(name), name + " missing from " + actual);
            assertClose(means.get(name).asDouble(), actual.get(name), name);
            assertEquals(counts.get(name).asLong(), actualCounts.get(name), name + " tokens");
        }
    }

    private static void assertClose(double expected, double actual, String what) {
        assertEquals(expected, actual, Math.abs(expected) * TOLERANCE, what);
    }

    private static Packer packer() {
        return new Packer(golden.get("seq_len").asInt(), Packer.Overlong.SPLIT);
    }

    private static LlamaModel model(NDManager manager) throws Exception {
        return HfCheckpoint.loadModel(resource(golden.get("model").asText()).resolve("model"), manager);
    }

    private static LossReport.Share share(int rank, java.util.function.UnaryOperator<double[]> sum) {
        return new LossReport.Share() {
            @Override
            public int rank() {
                return rank;
            }

            @Override
            public int worldSize() {
                return 2;
            }

            @Override
            public double[] sum(double[] local) {
                return sum.apply(local);
            }
        };
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    private static Path resource(String name) throws Exception {
        return Path.of(LossReportTest.class.getResource("/reference/" + name).toURI());
    }
}
