package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentflan.format.ShardSchema;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code <run>/capability_loss.png}: the eval loss of each capability over the steps (the {@code loss_by_capability}
 * of the eval lines of {@code metrics.jsonl}), one curve per capability, with the overall eval loss (over loss tokens)
 * dashed for reference. Capabilities fall at different speeds; this is the picture the capability balance is tuned
 * on (README, "Read the capability curves"). Drawn with XChart.
 */
public final class CapabilityPlot {
    public static final String FILE_NAME = "capability_loss.png";
    static final int WIDTH = 900;
    static final int HEIGHT = 500;
    /** One colour per capability, in {@link ShardSchema#CAPABILITIES} order (matplotlib's tab10, colour-blind safe). */
    private static final Color[] COLORS = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
            new Color(214, 39, 40), new Color(148, 103, 189)};

    private CapabilityPlot() {}

    /**
     * Draws the curves of {@code metrics} into {@code png} (through a temporary file beside it, renamed into place).
     * Returns false, writing nothing, when no eval line has per-capability losses (no eval, or unlabelled data).
     */
    public static boolean write(Path metrics, Path png) throws IOException {
        Map<String, List<double[]>> curves = new LinkedHashMap<>();
        List<double[]> overall = new ArrayList<>();
        for (JsonNode line : MetricsLog.read(metrics)) {
            JsonNode byCapability = line.get("loss_by_capability");
            if (!"eval".equals(line.path("type").asText()) || byCapability == null || !byCapability.isObject()) {
                continue;
            }
            double step = line.get("step").asDouble();
            for (String capability : ShardSchema.CAPABILITIES) {
                JsonNode loss = byCapability.get(capability);
                if (loss != null && loss.isNumber() && Double.isFinite(loss.asDouble())) {
                    curves.computeIfAbsent(capability, c -> new ArrayList<>()).add(new double[] {step, loss.asDouble()});
                }
            }
            JsonNode loss = line.get("loss");
            if (loss != null && loss.isNumber() && Double.isFinite(loss.asDouble())) {
                overall.add(new double[] {step, loss.asDouble()});
            }
        }
        if (curves.isEmpty()) {
            return false;
        }
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("eval loss per capability (mean over all assistant tokens, balancer-masked turns included)")
                .xAxisTitle("step").yAxisTitle("eval loss").build();
        XYStyler styler = chart.getStyler();
        styler.setLegendPosition(Styler.LegendPosition.InsideNE);
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotGridLinesColor(new Color(225, 225, 225));
        for (Map.Entry<String, List<double[]>> curve : curves.entrySet()) {
            XYSeries series = add(chart, curve.getKey(), curve.getValue());
            series.setLineColor(COLORS[ShardSchema.CAPABILITIES.indexOf(curve.getKey())]);
            series.setMarkerColor(COLORS[ShardSchema.CAPABILITIES.indexOf(curve.getKey())]);
        }
        if (!overall.isEmpty()) {
            XYSeries series = add(chart, "overall (loss tokens)", overall);
            series.setLineColor(Color.GRAY);
            series.setMarkerColor(Color.GRAY);
            series.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                    new float[] {6f, 4f}, 0f));
        }
        Path temp = png.resolveSibling("." + png.getFileName() + ".tmp");
        Files.write(temp, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        Files.move(temp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return true;
    }

    private static XYSeries add(XYChart chart, String name, List<double[]> points) {
        double[] x = points.stream().mapToDouble(p -> p[0]).toArray();
        double[] y = points.stream().mapToDouble(p -> p[1]).toArray();
        XYSeries series = chart.addSeries(name, x, y);
        series.setMarker(points.size() < 60 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        return series;
    }
}
