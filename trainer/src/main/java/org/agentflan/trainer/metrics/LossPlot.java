package org.agentflan.trainer.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** Draws the train (and eval) loss of a run's {@code metrics.jsonl} into a PNG with Java2D; no extra dependency. */
public final class LossPlot {
    private static final int W = 900, H = 500, LEFT = 70, RIGHT = 20, TOP = 40, BOTTOM = 50;

    private LossPlot() {}

    public static void write(Path metrics, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<double[]> train = new ArrayList<>();
        List<double[]> eval = new ArrayList<>();
        for (JsonNode line : MetricsLog.read(metrics)) {
            JsonNode loss = line.get("loss");
            if (loss == null || !loss.isNumber() || !Double.isFinite(loss.asDouble())) {
                continue;
            }
            double[] point = {line.get("step").asDouble(), loss.asDouble()};
            ("eval".equals(line.path("type").asText()) ? eval : train).add(point);
        }
        BufferedImage image = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("loss per optimizer step (blue: train, orange: eval)", LEFT, 22);
        g.drawRect(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM);
        List<double[]> all = new ArrayList<>(train);
        all.addAll(eval);
        if (!all.isEmpty()) {
            double minX = all.stream().mapToDouble(p -> p[0]).min().orElse(0);
            double maxX = Math.max(minX + 1, all.stream().mapToDouble(p -> p[0]).max().orElse(1));
            double minY = all.stream().mapToDouble(p -> p[1]).min().orElse(0);
            double maxY = Math.max(minY + 1e-6, all.stream().mapToDouble(p -> p[1]).max().orElse(1));
            for (int i = 0; i <= 4; i++) {
                double y = minY + (maxY - minY) * i / 4;
                int py = py(y, minY, maxY);
                g.drawString(String.format(Locale.ROOT, "%.3f", y), 8, py + 4);
                double x = minX + (maxX - minX) * i / 4;
                g.drawString(String.format(Locale.ROOT, "%.0f", x), px(x, minX, maxX) - 10, H - BOTTOM + 18);
            }
            g.drawString("step", W / 2, H - 12);
            series(g, train, new Color(31, 119, 180), minX, maxX, minY, maxY);
            series(g, eval, new Color(255, 127, 14), minX, maxX, minY, maxY);
        }
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }

    private static void series(Graphics2D g, List<double[]> points, Color color, double minX, double maxX,
                               double minY, double maxY) {
        g.setColor(color);
        g.setStroke(new BasicStroke(2f));
        for (int i = 0; i < points.size(); i++) {
            int x = px(points.get(i)[0], minX, maxX);
            int y = py(points.get(i)[1], minY, maxY);
            if (i > 0) {
                g.drawLine(px(points.get(i - 1)[0], minX, maxX), py(points.get(i - 1)[1], minY, maxY), x, y);
            }
            if (points.size() < 60) {
                g.fillOval(x - 3, y - 3, 6, 6);
            }
        }
    }

    private static int px(double x, double min, double max) {
        return LEFT + (int) Math.round((x - min) / (max - min) * (W - LEFT - RIGHT));
    }

    private static int py(double y, double min, double max) {
        return H - BOTTOM - (int) Math.round((y - min) / (max - min) * (H - TOP - BOTTOM));
    }
}
