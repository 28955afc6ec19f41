package org.agentflan.trainer;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.agentflan.trainer.data.Packer;
import org.agentflan.trainer.data.Sample;
import org.agentflan.trainer.eval.LossReport;
import org.agentflan.trainer.metrics.MetricsLog;
import org.agentflan.trainer.model.LlamaModel;

/**
 * The eval loss during training: a {@link LossReport} over the first {@code eval.max_rows} packed rows of the eval
 * samples, in their order (no shuffle, so every evaluation of a run sees the same rows and the curve compares like
 * with like), without gradients, every {@code eval.every} steps. With several ranks, rank r runs micro-batches
 * r, r + ranks, ... and the sums are added up over the ranks: the same figures as one rank computes alone.
 */
final class Evaluation {
    private final List<Sample> samples;
    private final Packer packer;
    private final long every;
    private final LossReport.Settings settings;
    private boolean notedMissingLabels;

    Evaluation(List<Sample> samples, Packer packer, TrainConfig cfg, DataType computeType) {
        this.samples = samples;
        this.packer = packer;
        this.every = cfg.eval().every();
        this.settings = new LossReport.Settings(cfg.batch().microBatch(), cfg.eval().maxRows(),
                cfg.model().chunkTokens(), computeType);
    }

    /** Whether step {@code step} ends with an evaluation (never without eval samples or with eval.every 0). */
    boolean due(long step) {
        return every > 0 && step % every == 0 && !samples.isEmpty();
    }

    /** The eval losses of {@code model}, every rank of {@code ranks} taking part; each batch's arrays die in a scope under {@code manager}. */
    LossReport report(LlamaModel model, NDManager manager, DataParallel ranks) {
        return LossReport.compute(model, samples, packer, settings, manager, new LossReport.Share() {
            @Override
            public int rank() {
                return ranks.rank();
            }

            @Override
            public int worldSize() {
                return ranks.worldSize();
            }

            @Override
            public double[] sum(double[] local) {
                return ranks.sum(local);
            }
        });
    }

    /**
     * The {@code metrics.jsonl} line of an eval: {@code loss} (mean over loss tokens, as always), and
     * {@code loss_by_capability}, {@code loss_by_source} (mean over every assistant token of the capability or
     * source, loss or not) with their token counts, or a {@code note} saying why those are missing.
     */
    static ObjectNode metricsLine(long step, LossReport report) {
        ObjectNode line = MetricsLog.line("eval", step).put("loss", report.overall()).put("loss_tokens", report.lossTokens());
        if (!report.labelled()) {
            return line.put("note", LossReport.NO_LABELS);
        }
        ObjectNode json = report.toJson();
        line.set("loss_by_capability", json.get("by_capability"));
        line.set("loss_by_source", json.get("by_source"));
        line.set("tokens_by_capability", json.get("tokens_by_capability"));
        line.set("tokens_by_source", json.get("tokens_by_source"));
        return line;
    }

    /** The console line of an eval; the note on missing labels is shown at the first eval only. */
    String consoleLine(long step, LossReport report) {
        String line = String.format(Locale.ROOT, "eval step %d: loss %.4f", step, report.overall());
        if (report.labelled()) {
            return line + "; by capability " + means(report.byCapability());
        }
        if (notedMissingLabels) {
            return line;
        }
        notedMissingLabels = true;
        return line + " (" + LossReport.NO_LABELS + ")";
    }

    private static String means(Map<String, Double> byName) {
        return byName.entrySet().stream()
                .map(e -> String.format(Locale.ROOT, "%s %.4f", e.getKey(), e.getValue()))
                .collect(Collectors.joining(", "));
    }
}
