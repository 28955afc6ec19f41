package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.format.ShardSchema;
import org.knowm.xchart.XYChart;

/**
 * {@code <run>/capability_loss.png}: the eval loss of each capability over the steps (the {@code loss_by_capability}
 * of the eval lines of {@code metrics.jsonl}), one curve per capability, with the overall eval loss (over loss tokens)
 * dashed for reference. Capabilities fall at different speeds; this is the picture the capability balance is tuned
 * on (README, "Read the capability curves"). Drawn with XChart in the style of {@link PlotStyle}, like the training
 * figure; a step evaluated twice (a resumed run) shows its later line.
 */
public final class CapabilityPlot {
    public static final String FILE_NAME = "capability_loss.png";
    static final int WIDTH = 900;
    static final int HEIGHT = 500;
    /** One colour per capability, in {@link ShardSchema#CAPABILITIES} order. */
    private static final List<Color> COLORS = List.of(PlotStyle.BLUE, PlotStyle.ORANGE, PlotStyle.GREEN, PlotStyle.RED,
            PlotStyle.PURPLE);

    private CapabilityPlot() {}

    /**
     * Draws the curves of {@code metrics} into {@code png}. Returns false, writing nothing, when no eval line has
     * per-capability losses (no eval, or unlabelled data).
     */
    public static boolean write(Path metrics, Path png) throws IOException {
        Map<String, Curve> curves = new LinkedHashMap<>();
        ShardSchema.CAPABILITIES.forEach(capability -> curves.put(capability, new Curve()));
        Curve overall = new Curve();
        for (JsonNode line : MetricsLog.read(metrics)) {
            JsonNode byCapability = line.get("loss_by_capability");
            if (!"eval".equals(line.path("type").asText()) || byCapability == null || !byCapability.isObject()) {
                continue;
            }
            long step = line.path("step").asLong();
            curves.forEach((capability, curve) -> curve.put(step, byCapability.get(capability)));
            overall.put(step, line.get("loss"));
        }
        curves.values().removeIf(Curve::isEmpty);
        if (curves.isEmpty()) {
            return false;
        }
        long last = curves.values().stream().mapToLong(Curve::lastStep).max().orElseThrow();
        XYChart chart = PlotStyle.panel(WIDTH, HEIGHT,
                "eval loss per capability (mean over all assistant tokens, balancer-masked turns included)",
                "eval loss", last);
        curves.forEach((capability, curve) -> PlotStyle.add(chart, capability, curve,
                COLORS.get(ShardSchema.CAPABILITIES.indexOf(capability))));
        if (!overall.isEmpty()) {
            PlotStyle.add(chart, "overall (loss tokens)", overall, PlotStyle.GRAY).setLineStyle(PlotStyle.DASHED);
        }
        PlotStyle.write(png, 1, List.of(chart));
        return true;
    }
}
