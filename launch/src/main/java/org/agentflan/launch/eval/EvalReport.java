package org.agentflan.launch.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.Map;

/**
 * What {@code agentflan eval} found, as one JSON object or a table. Each section is either its figures or the reason
 * it could not be computed ({@code unavailable}: what to do). The loss section has {@code overall} and
 * {@code by_source}; a section whose samples are 0 gives null figures.
 */
public record EvalReport(String model, String data, String split, int splitSamples, Loss loss,
                         HallucinationProbe.Result hallucination, ToolUseProbe.Result toolUse,
                         String probesUnavailable) {

    /** Mean next-token NLL per loss token ({@code org.agentflan.trainer.EvalLoss}), overall and per source. */
    public record Loss(int samples, long lossTokens, double overall, Map<String, Double> bySource) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode l = root.putObject("loss");
        l.put("samples", loss.samples());
        l.put("loss_tokens", loss.lossTokens());
        number(l, "overall", loss.overall());
        ObjectNode bySource = l.putObject("by_source");
        loss.bySource().forEach((source, value) -> number(bySource, source, value));
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
        out.append(String.format(Locale.ROOT, "  %-42s %8d %12d %8s%n", "overall", loss.samples(), loss.lossTokens(),
                figure(loss.overall())));
        loss.bySource().forEach((source, value) -> out.append(String.format(Locale.ROOT, "  %-42s %8s %12s %8s%n",
                "source " + source, "", "", figure(value))));
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

    private static String figure(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.4f", value);
    }
}
