package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import org.knowm.xchart.XYChart;

/**
 * {@code <run>/loss.png}: the training figure of a run's {@code metrics.jsonl}, four panels against the optimizer
 * step: the loss (train, and eval where the run evaluated), the learning rate, the gradient norm (before clipping) and
 * the throughput ({@code tokens_per_s}). One point per step: a resumed run's repeated steps show the later line.
 * Skipped steps (fp16 overflow, non-finite loss) are counted in the loss panel's title; their non-finite values are
 * left out. Drawn with XChart in the style of {@link PlotStyle}.
 */
public final class TrainingFigure {
    public static final String FILE_NAME = "loss.png";
    static final int PANEL_WIDTH = 640;
    static final int PANEL_HEIGHT = 400;
    static final int COLUMNS = 2;

    private TrainingFigure() {}

    /**
     * Draws the figure of {@code metrics} into {@code png}. Returns false, writing nothing, when the file has no train
     * line with a finite loss (a run stopped before its first step).
     */
    public static boolean write(Path metrics, Path png) throws IOException {
        List<XYChart> panels = panels(metrics);
        if (panels.isEmpty()) {
            return false;
        }
        PlotStyle.write(png, COLUMNS, panels);
        return true;
    }

    /** The four panels of the figure, row by row; none when there is no finite train loss. */
    static List<XYChart> panels(Path metrics) throws IOException {
        Curve train = new Curve();
        Curve eval = new Curve();
        Curve lr = new Curve();
        Curve gradNorm = new Curve();
        Curve tokensPerSecond = new Curve();
        TreeSet<Long> skipped = new TreeSet<>();
        for (JsonNode line : MetricsLog.read(metrics)) {
            long step = line.path("step").asLong();
            String type = line.path("type").asText();
            if ("eval".equals(type)) {
                eval.put(step, line.get("loss"));
            } else if ("train".equals(type)) {
                train.put(step, line.get("loss"));
                lr.put(step, line.get("lr"));
                gradNorm.put(step, line.get("grad_norm"));
                tokensPerSecond.put(step, line.get("tokens_per_s"));
                if (line.path("skipped").asBoolean(false)) {
                    skipped.add(step);
                } else {
                    skipped.remove(step);
                }
            }
        }
        if (train.isEmpty()) {
            return List.of();
        }
        long last = eval.isEmpty() ? train.lastStep() : Math.max(train.lastStep(), eval.lastStep());
        String lossTitle = skipped.isEmpty() ? "loss" : "loss (" + skipped.size() + " skipped "
                + (skipped.size() == 1 ? "step" : "steps") + ", weights not updated)";
        XYChart loss = PlotStyle.panel(PANEL_WIDTH, PANEL_HEIGHT, lossTitle, "loss", last);
        PlotStyle.add(loss, "train", train, PlotStyle.BLUE);
        if (!eval.isEmpty()) {
            PlotStyle.add(loss, "eval", eval, PlotStyle.ORANGE);
        }
        return List.of(loss,
                learningRate(single("learning rate", "lr", lr, PlotStyle.GREEN, last)),
                single("gradient norm (before clipping)", "grad norm", gradNorm, PlotStyle.RED, last),
                single("throughput", "tokens / s", tokensPerSecond, PlotStyle.PURPLE, last));
    }

    /** The learning rate in the configs' notation (3.0E-3 for {@code lr: 3.0e-3}), which reads better than 0.003. */
    private static XYChart learningRate(XYChart panel) {
        panel.getStyler().setYAxisDecimalPattern("0.0E0");
        return panel;
    }

    /**
     * A panel with one curve and no legend (its title names the curve). Without a finite value (every step skipped
     * by fp16, or a file from before the field existed) the title says so and the y axis shows no made-up range.
     */
    private static XYChart single(String title, String yAxisTitle, Curve curve, Color color, long last) {
        XYChart chart = PlotStyle.panel(PANEL_WIDTH, PANEL_HEIGHT, curve.isEmpty() ? title + " (no finite value)" : title,
                yAxisTitle, last);
        chart.getStyler().setLegendVisible(false);
        if (curve.isEmpty()) {
            chart.getStyler().setYAxisTicksVisible(false);
        } else {
            PlotStyle.add(chart, yAxisTitle, curve, color);
        }
        return chart;
    }
}
