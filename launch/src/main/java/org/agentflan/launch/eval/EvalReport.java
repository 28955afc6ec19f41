package org.agentflan.launch.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.Map;
import org.agentflan.trainer.eval.LossReport;

/**
 * What {@code agentflan eval} found, as one JSON object or a table. Each section is either its figures or the reason
 * it could not be computed ({@code unavailable}: what to do). The loss section is {@link LossReport#toJson} with the
 * number of {@code samples} it is over; a section whose samples are 0 gives null figures.
 */
public record EvalReport(String model, String data, String split, int splitSamples, Loss loss,
                         HallucinationProbe.Result hallucination, ToolUseProbe.Result toolUse,
                         String probesUnavailable) {

    /** The loss of the model on {@code samples} samples; {@code report} is null when there are none. */
    public record Loss(int samples, LossReport report) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode l = root.putObject("loss");
        l.put("samples", loss.samples());
        if (loss.report() == null) {
            l.putNull("overall");
            l.put("loss_tokens", 0);
        } else {
            l.setAll(loss.report().toJson());
        }
        ObjectNode h = root.putObject("hallucination");
        ObjectNode t = root.putObject("tool_use");
        if (probesUnavailable != null) {
            h.put("unavailable", probesUnavailable);
            t.put("unavailable", probesUnavailable);
            return root;
        }
        h.put("samples", hallucination.samples());
        number(h, "tool_call_rate_react", hallucination.toolCallRateReact());
        number(h, "tool_call_rate_general", hallucination.toolCallRateGeneral());
        h.put("skipped", hallucination.skipped());
        t.put("samples", toolUse.samples());
        number(t, "name_accuracy", toolUse.nameAccuracy());
        number(t, "args_json_valid", toolUse.argsJsonValid());
        number(t, "args_keys_match", toolUse.argsKeysMatch());
        t.put("skipped", toolUse.skipped());
        return root;
    }

    /** JSON has no NaN: a figure over no samples is null. */
    private static void number(ObjectNode node, String key, double value) {
        if (Double.isNaN(value)) {
            node.putNull(key);
        } else {
            node.put(key, value);
        }
    }

    public String toTable() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "model %s%ndata  %s, split %s: %d samples%n%n", model, data, split,
                splitSamples));
        out.append(String.format(Locale.ROOT, "%-44s %8s %12s %8s%n", "loss (mean NLL per loss token)", "samples",
                "loss_tokens", "loss"));
        LossReport report = loss.report();
        out.append(String.format(Locale.ROOT, "  %-42s %8d %12d %8s%n", "overall", loss.samples(),
                report == null ? 0 : report.lossTokens(), report == null ? "-" : figure(report.overall())));
        if (report != null && report.labelled()) {
            out.append(String.format(Locale.ROOT, "%-44s %8s %12s %8s%n", "loss (mean NLL per assistant token)", "",
                    "tokens", "loss"));
            rows(out, "capability ", report.byCapability(), report.capabilityTokens());
            rows(out, "source ", report.bySource(), report.sourceTokens());
        } else if (report != null) {
            out.append("  ").append(LossReport.NO_LABELS).append('\n');
        }
        out.append('\n');
        if (probesUnavailable != null) {
            out.append("hallucination, tool_use: ").append(probesUnavailable).append('\n');
            return out.toString();
        }
        out.append(String.format(Locale.ROOT, "%-44s %8s %8s %8s%n", "hallucination (tool-call rate; lower is better)",
                "samples", "react", "general"));
        out.append(String.format(Locale.ROOT, "  %-42s %8d %8s %8s%n", "negative samples", hallucination.samples(),
                figure(hallucination.toolCallRateReact()), figure(hallucination.toolCallRateGeneral())));
        out.append('\n');
        out.append(String.format(Locale.ROOT, "%-44s %8s %8s %10s %10s%n", "tool_use (share of steps; higher is better)",
                "samples", "name", "args_json", "args_keys"));
        out.append(String.format(Locale.ROOT, "  %-42s %8d %8s %10s %10s%n", "reference tool calls", toolUse.samples(),
                figure(toolUse.nameAccuracy()), figure(toolUse.argsJsonValid()), figure(toolUse.argsKeysMatch())));
        if (hallucination.skipped() + toolUse.skipped() > 0) {
            out.append(String.format(Locale.ROOT, "%nskipped (prompt longer than the model's max_position_embeddings):"
                    + " %d negatives, %d steps%n", hallucination.skipped(), toolUse.skipped()));
        }
        return out.toString();
    }

    private static void rows(StringBuilder out, String prefix, Map<String, Double> means, Map<String, Long> tokens) {
        means.forEach((name, value) -> out.append(String.format(Locale.ROOT, "  %-42s %8s %12d %8s%n", prefix + name,
                "", tokens.get(name), figure(value))));
    }

    private static String figure(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.4f", value);
    }
}
