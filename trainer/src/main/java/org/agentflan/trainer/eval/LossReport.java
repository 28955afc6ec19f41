package org.agentflan.trainer.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.format.ShardSchema;
import org.agentflan.trainer.data.DataStream;
import org.agentflan.trainer.data.MicroBatch;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.model.LlamaModel;
import org.agentflan.trainer.model.MaskedCrossEntropy;

/**
 * The eval loss of a model on samples, three ways:
 * <ul>
 *   <li>{@code overall}: the mean NLL over the loss tokens, what training minimises;</li>
 *   <li>{@code byCapability}: per capability ({@link ShardSchema#CAPABILITIES}), the mean NLL over every assistant
 *       token of that capability, whether or not it carries loss: the turns the capability balancer masked are
 *       measured too, which is how a masked capability shows whether it still improves;</li>
 *   <li>{@code bySource}: per source, the mean NLL over the same token set (every labelled assistant token), so a
 *       source's figure and the capability figures count the same tokens.</li>
 * </ul>
 * A token here is a target: the label and mask of the token being predicted. The rows are the first
 * {@code maxRows} rows the {@link Packer} makes of the samples in their order (no shuffle, so repeated reports on the
 * same samples compare like with like). As in training, a piece of a split sample without any loss target is not
 * packed, so its assistant tokens are not counted either.
 *
 * <p>The per-capability and per-source figures need capability labels (shard format version 2). If any sample lacks
 * them, both maps are empty and {@link #labelled} is false; {@link #NO_LABELS} says why, for the console and the
 * metrics. A capability or source without any token in the rows is absent from its map.
 *
 * <p>Per batch, the NLL of every selected token is computed once ({@link MaskedCrossEntropy#perToken}) and reduced
 * on the device against a {@code [n, groups]} 0/1 matrix in one product, added to an accumulator on the device;
 * the token counts are known on the host. The accumulator is read once, at the end, so the host never waits for the
 * device between batches. With several ranks ({@link Share}), rank r computes micro-batches r, r + ranks, ... and the sums are
 * added over the ranks, giving the figures one rank computes alone.
 */
public record LossReport(double overall, long lossTokens, boolean labelled, Map<String, Double> byCapability,
                         Map<String, Long> capabilityTokens, Map<String, Double> bySource, Map<String, Long> sourceTokens) {

    /** Why a report has no per-capability figures. */
    public static final String NO_LABELS = "per-capability and per-source losses omitted: the eval samples have no"
            + " capability labels (shards of format_version 1); re-run 'agentflan prepare' to add them";
    /** The source name of a sample read from a shard without a source column. */
    public static final String UNKNOWN_SOURCE = "unknown";

    /** How eval is batched: rows per forward pass, the row budget, the LM head chunk and the compute type. */
    public record Settings(int microBatch, int maxRows, int chunkTokens, DataType computeType) {
        public Settings {
            if (microBatch <= 0 || maxRows <= 0 || chunkTokens <= 0) {
                throw new IllegalArgumentException("microBatch, maxRows and chunkTokens must be > 0, got "
                        + microBatch + ", " + maxRows + ", " + chunkTokens);
            }
        }
    }

    /**
     * The data-parallel ranks sharing a report: rank {@link #rank} of {@link #worldSize} computes every
     * {@code worldSize}-th micro-batch, and {@link #sum} adds a vector element-wise over the ranks (every rank calls
     * it once, with a vector of the same length).
     */
    public interface Share {
        int rank();

        int worldSize();

        double[] sum(double[] local);

        /** One process computing everything. */
        Share ALONE = new Share() {
            @Override
            public int rank() {
                return 0;
            }

            @Override
            public int worldSize() {
                return 1;
            }

            @Override
            public double[] sum(double[] local) {
                return local.clone();
            }
        };
    }

    /** The report of {@code model} on {@code samples} in this process alone; batch arrays live under {@code manager}. */
    public static LossReport compute(LlamaModel model, List<Sample> samples, Packer packer, Settings settings,
                                     NDManager manager) {
        return compute(model, samples, packer, settings, manager, Share.ALONE);
    }

    /** The report of {@code model} on {@code samples}, computed by every rank of {@code share} together. */
    public static LossReport compute(LlamaModel model, List<Sample> samples, Packer packer, Settings settings,
                                     NDManager manager, Share share) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("no samples to evaluate");
        }
        Groups groups = Groups.of(samples);
        double[] tokens = new double[groups.size()];
        double[] nll;
        try (NDManager sums = manager.newSubManager()) {
            // The NLL sums of every group, on the device until the one read below.
            NDArray total = sums.zeros(new Shape(1, groups.size()), DataType.FLOAT32);
        // Not shuffled, so the seed plays no part.
            DataStream stream = new DataStream(samples, packer, 0, false, 1);
            int rowsLeft = settings.maxRows();
            for (int batch = 0; rowsLeft > 0; batch++) {
                List<Packer.PackedRow> rows = new ArrayList<>();
                Packer.PackedRow row;
                while (rows.size() < Math.min(settings.microBatch(), rowsLeft) && (row = stream.next()) != null) {
                    rows.add(row);
                }
                if (rows.isEmpty()) {
                    break;
                }
                rowsLeft -= rows.size();
                if (batch % share.worldSize() != share.rank()) {
                    continue; // another rank's micro-batch
                }
                MicroBatch mb = MicroBatch.of(rows, rows.size(), packer.seqLen());
                groups.accumulate(model, mb, settings, sums, total, tokens);
            }
            float[] read = total.toFloatArray();
            nll = new double[read.length];
            for (int g = 0; g < read.length; g++) {
                nll[g] = read[g];
            }
        }
        double[] local = new double[2 * groups.size()];
        System.arraycopy(nll, 0, local, 0, nll.length);
        System.arraycopy(tokens, 0, local, nll.length, tokens.length);
        double[] summed = share.sum(local);
        return groups.report(summed);
    }

    /**
     * The figures as one JSON object: {@code overall}, {@code loss_tokens}, and either {@code by_capability},
     * {@code by_source}, {@code tokens_by_capability} and {@code tokens_by_source}, or a {@code note} saying why they
     * are missing.
     */
    public ObjectNode toJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("overall", overall);
        json.put("loss_tokens", lossTokens);
        if (!labelled) {
            json.put("note", NO_LABELS);
            return json;
        }
        ObjectNode caps = json.putObject("by_capability");
        byCapability.forEach(caps::put);
        ObjectNode sources = json.putObject("by_source");
        bySource.forEach(sources::put);
        ObjectNode capTokens = json.putObject("tokens_by_capability");
        capabilityTokens.forEach(capTokens::put);
        ObjectNode sourceTokensJson = json.putObject("tokens_by_source");
        sourceTokens.forEach(sourceTokensJson::put);
        return json;
    }

    /**
     * The groups a token is summed into, as columns: 0 the loss tokens; with labels, then one per capability in
     * {@link ShardSchema#CAPABILITIES} order, then one per source in name order. The sources come from the samples
     * (every rank holds the same samples, so every rank has the same columns).
     */
    private record Groups(boolean labelled, List<String> sources) {
        static Groups of(List<Sample> samples) {
            boolean labelled = samples.stream().allMatch(Sample::hasCapabilityLabels);
            List<String> sources = labelled
                    ? samples.stream().map(Groups::sourceOf).distinct().sorted().toList()
                    : List.of();
            return new Groups(labelled, sources);
        }

        static String sourceOf(Sample s) {
            return s.source() == null ? UNKNOWN_SOURCE : s.source();
        }

        int size() {
            return labelled ? 1 + ShardSchema.CAPABILITIES.size() + sources.size() : 1;
        }

        /** Adds the batch's NLL sums per group to {@code total} ({@code [1, groups]}, on the device) and its counts to {@code tokens}. */
        void accumulate(LlamaModel model, MicroBatch mb, Settings settings, NDManager manager, NDArray total,
                        double[] tokens) {
            int k = size();
            List<Long> positions = new ArrayList<>();
            List<float[]> weightRows = new ArrayList<>();
            for (int r = 0; r < mb.realRows(); r++) {
                List<String> rowSources = mb.sources().get(r);
                for (int t = 0; t < mb.seqLen(); t++) {
                    int p = r * mb.seqLen() + t;
                    int label = mb.capabilityIds()[p];
                    boolean assistant = labelled && label != ShardSchema.NO_CAPABILITY;
                    if (mb.lossMask()[p] == 0 && !assistant) {
                        continue;
                    }
                    float[] w = new float[k];
                    w[0] = mb.lossMask()[p];
                    if (assistant) {
                        w[label] = 1;
                        String source = rowSources.get(mb.segmentIds()[p] - 1);
                        w[1 + ShardSchema.CAPABILITIES.size() + sources.indexOf(source == null ? UNKNOWN_SOURCE : source)] = 1;
                    }
                    for (int g = 0; g < k; g++) {
                        tokens[g] += w[g];
                    }
                    positions.add((long) p);
                    weightRows.add(w);
                }
            }
            int n = positions.size();
            if (n == 0) {
                return;
            }
            long[] index = new long[n];
            float[] weights = new float[n * k];
            for (int i = 0; i < n; i++) {
                index[i] = positions.get(i);
                System.arraycopy(weightRows.get(i), 0, weights, i * k, k);
            }
            try (NDManager scope = manager.newSubManager()) {
                MicroBatch.Arrays b = mb.toNDArrays(scope);
                NDArray hidden = model.forward(b.inputIds(), b.positions(), b.segmentIds(), settings.computeType());
                NDArray perToken = MaskedCrossEntropy.perToken(model, hidden, b.targets(), scope.create(index),
                        settings.chunkTokens());
                // [1, n] x [n, groups]: every group's NLL sum, added on the device.
                total.addi(perToken.reshape(1, n).matMul(scope.create(weights, new Shape(n, k))));
            }
        }

        /** The report from the summed vector: NLL sums, then token counts, per group. */
        LossReport report(double[] summed) {
            int k = size();
            double overall = summed[0] / Math.max(1, summed[k]);
            long lossTokens = Math.round(summed[k]);
            if (!labelled) {
                return new LossReport(overall, lossTokens, false, Map.of(), Map.of(), Map.of(), Map.of());
            }
            Map<String, Double> byCapability = new LinkedHashMap<>();
            Map<String, Long> capabilityTokens = new LinkedHashMap<>();
            for (int c = 0; c < ShardSchema.CAPABILITIES.size(); c++) {
                put(ShardSchema.CAPABILITIES.get(c), summed[1 + c], summed[k + 1 + c], byCapability, capabilityTokens);
            }
            Map<String, Double> bySource = new LinkedHashMap<>();
            Map<String, Long> sourceTokens = new LinkedHashMap<>();
            int first = 1 + ShardSchema.CAPABILITIES.size();
            for (int s = 0; s < sources.size(); s++) {
                put(sources.get(s), summed[first + s], summed[k + first + s], bySource, sourceTokens);
            }
            return new LossReport(overall, lossTokens, true, Collections.unmodifiableMap(byCapability),
                    Collections.unmodifiableMap(capabilityTokens), Collections.unmodifiableMap(bySource),
                    Collections.unmodifiableMap(sourceTokens));
        }

        private static void put(String name, double nll, double tokens, Map<String, Double> means,
                                Map<String, Long> counts) {
            if (tokens > 0) {
                means.put(name, nll / tokens);
                counts.put(name, Math.round(tokens));
            }
        }
    }
}
