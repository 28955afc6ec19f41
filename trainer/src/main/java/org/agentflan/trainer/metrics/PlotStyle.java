package org.agentflan.trainer.metrics;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import javax.imageio.ImageIO;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The look the run's figures share ({@link TrainingFigure}, {@link CapabilityPlot}): XChart panels against the
 * optimizer step with the same fonts, colours, grid and axis formatting, laid out in a grid and written as one PNG.
 * Tick values are XChart's own (round numbers); the step axis is formatted as whole numbers, and XChart widens its tick
 * spacing until every label is distinct, so it never shows a fractional step.
 */
final class PlotStyle {
    /** matplotlib's tab10 colours (colour-blind safe), in the order the figures hand them out. */
    static final Color BLUE = new Color(31, 119, 180);
    static final Color ORANGE = new Color(255, 127, 14);
    static final Color GREEN = new Color(44, 160, 44);
    static final Color RED = new Color(214, 39, 40);
    static final Color PURPLE = new Color(148, 103, 189);
    static final Color GRAY = new Color(127, 127, 127);
    static final BasicStroke DASHED = new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[] {6f, 4f}, 0f);
    /** Curves with fewer points than this get a marker on each point, so that a sparse eval curve shows its evals. */
    private static final int MARKERS_BELOW = 60;

    private PlotStyle() {}

    /**
     * An empty panel {@code width} x {@code height} with the shared style, its x axis the steps from 0 to
     * {@code lastStep}. A run's metrics always start at step 1 (a resume keeps the lines up to its checkpoint), so
     * every figure of a run spans the same steps and their ticks fall on the same round steps.
     */
    static XYChart panel(int width, int height, String title, String yAxisTitle, long lastStep) {
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title)
                .xAxisTitle("step").yAxisTitle(yAxisTitle).build();
        XYStyler styler = chart.getStyler();
        styler.setChartBackgroundColor(Color.WHITE);
        styler.setPlotBorderColor(Color.GRAY);
        styler.setPlotGridLinesColor(new Color(225, 225, 225));
        styler.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        styler.setChartTitleBoxVisible(false);
        styler.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        styler.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        styler.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        styler.setLegendPosition(Styler.LegendPosition.InsideNE);
        styler.setLegendBorderColor(Color.LIGHT_GRAY);
        styler.setXAxisDecimalPattern("#");
        // XChart counts the ticks from the axis minimum: from 0 they fall on round steps (0, 5, 10 or 0, 10, 20 ...).
        styler.setXAxisMin(0.0);
        styler.setXAxisMax((double) Math.max(1, lastStep));
        return chart;
    }

    /** Adds {@code curve} to {@code chart} as a solid line in {@code color}. */
    static XYSeries add(XYChart chart, String name, Curve curve, Color color) {
        XYSeries series = chart.addSeries(name, curve.steps(), curve.values());
        series.setLineColor(color);
        series.setMarkerColor(color);
        series.setMarker(curve.size() < MARKERS_BELOW ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        return series;
    }

    /**
     * Paints {@code panels} row by row, {@code columns} to a row, into one PNG at {@code png} (through a temporary
     * file beside it, renamed into place, so a reader never sees half a figure).
     */
    static void write(Path png, int columns, List<XYChart> panels) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int width = panels.get(0).getWidth();
        int height = panels.get(0).getHeight();
        int rows = (panels.size() + columns - 1) / columns;
        BufferedImage image = new BufferedImage(columns * width, rows * height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        for (int i = 0; i < panels.size(); i++) {
            Graphics2D panel = (Graphics2D) g.create((i % columns) * width, (i / columns) * height, width, height);
            panels.get(i).paint(panel, width, height);
            panel.dispose();
        }
        g.dispose();
        Path temp = png.resolveSibling("." + png.getFileName() + ".tmp");
        ImageIO.write(image, "png", temp.toFile());
        Files.move(temp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
