package org.agentflan.trainer.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.LongStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;

/**
 * The training figure from a metrics file with known values: which points each panel gets (a resumed run's repeated
 * steps, a skipped fp16 step, no eval), and the PNG read back as pixels: its size, and each panel's curve in its colour
 * inside that panel.
 */
class TrainingFigureTest {
    @TempDir Path tmp;

    /**
     * Steps 1-30, evals every 5 steps. The first start ran to step 22 and was stopped; the second resumed from the
     * step-20 checkpoint and wrote steps 21 and 22 again (with other values), then ran on. Step 12 overflowed in fp16.
     */
    private Path resumedRunWithASkippedStep(boolean withEvals) throws Exception {
        StringBuilder lines = new StringBuilder();
        for (long step = 1; step <= 22; step++) {
            lines.append(step == 12 ? skipped(step) : train(step, step > 20 ? 50.0 : loss(step)));
            if (withEvals && step % 5 == 0) {
                lines.append(eval(step, loss(step) + 0.5));
            }
        }
        for (long step = 21; step <= 30; step++) {
            lines.append(train(step, loss(step)));
            if (withEvals && step % 5 == 0) {
                lines.append(eval(step, loss(step) + 0.5));
            }
        }
        Path metrics = tmp.resolve("metrics.jsonl");
        Files.writeString(metrics, lines);
        return metrics;
    }

    private static double loss(long step) {
        return 4 + 6 * Math.exp(-step / 8.0);
    }

    private static String train(long step, double loss) {
        return String.format(Locale.ROOT, "{\"type\":\"train\",\"step\":%d,\"loss\":%.4f,\"lr\":%.6f,\"grad_norm\":%.3f,"
                + "\"tokens_per_s\":%.1f,\"skipped\":false}%n", step, loss, lr(step), 2.0 / step + 0.5, 250.0 + step % 7);
    }

    /** What Train writes for an fp16 overflow: the non-finite values as strings (Jackson's default), skipped true. */
    private static String skipped(long step) {
        return String.format(Locale.ROOT, "{\"type\":\"train\",\"step\":%d,\"loss\":\"NaN\",\"lr\":%.6f,"
                + "\"grad_norm\":\"Infinity\",\"tokens_per_s\":251.0,\"skipped\":true,\"loss_scale\":32768.0,"
                + "\"overflow\":true}%n", step, lr(step));
    }

    private static String eval(long step, double loss) {
        return String.format(Locale.ROOT, "{\"type\":\"eval\",\"step\":%d,\"loss\":%.4f,\"loss_tokens\":500}%n", step, loss);
    }

    private static double lr(long step) {
        return step <= 4 ? 3e-3 * step / 4 : 3e-3 * 0.5 * (1 + Math.cos(Math.PI * (step - 4) / 26.0));
    }

    @Test
    void eachPanelHasOnePointPerStepTheLatestAndSkipsNonFiniteValues() throws Exception {
        List<XYChart> panels = TrainingFigure.panels(resumedRunWithASkippedStep(true));
        assertEquals(4, panels.size());
        XYChart loss = panels.get(0);
        assertEquals("loss (1 skipped step, weights not updated)", loss.getTitle());
        XYSeries train = loss.getSeriesMap().get("train");
        double[] everyStepBut12 = LongStream.rangeClosed(1, 30).filter(s -> s != 12).asDoubleStream().toArray();
        assertArrayEquals(everyStepBut12, train.getXData());
        // Steps 21 and 22 show the resumed start's values, not the stopped start's 50.0.
        assertEquals(loss(21), train.getYData()[19], 1e-4);
        assertEquals(loss(22), train.getYData()[20], 1e-4);
        assertArrayEquals(new double[] {5, 10, 15, 20, 25, 30}, loss.getSeriesMap().get("eval").getXData());
        // The skipped step keeps its learning rate and throughput; its infinite gradient norm is left out.
        assertEquals(30, panels.get(1).getSeriesMap().values().iterator().next().getXData().length);
        assertArrayEquals(everyStepBut12, panels.get(2).getSeriesMap().values().iterator().next().getXData());
        assertEquals(30, panels.get(3).getSeriesMap().values().iterator().next().getXData().length);
        for (XYChart panel : panels) {
            assertEquals(0.0, panel.getStyler().getXAxisMin(), "every panel spans the same steps");
            assertEquals(30.0, panel.getStyler().getXAxisMax());
        }
    }

    @Test
    void thePngHasEachPanelsCurveInItsColourInsideThatPanel() throws Exception {
        Path png = tmp.resolve(TrainingFigure.FILE_NAME);
        assertTrue(TrainingFigure.write(resumedRunWithASkippedStep(true), png));
        BufferedImage image = ImageIO.read(png.toFile());
        int w = TrainingFigure.PANEL_WIDTH;
        int h = TrainingFigure.PANEL_HEIGHT;
        assertEquals(2 * w, image.getWidth());
        assertEquals(2 * h, image.getHeight());
        assertTrue(count(image, 0, 0, w, h, PlotStyle.BLUE) > 300, "train loss, top left");
        assertTrue(count(image, 0, 0, w, h, PlotStyle.ORANGE) > 100, "eval loss, top left");
        assertTrue(count(image, w, 0, w, h, PlotStyle.GREEN) > 300, "learning rate, top right");
        assertTrue(count(image, 0, h, w, h, PlotStyle.RED) > 300, "gradient norm, bottom left");
        assertTrue(count(image, w, h, w, h, PlotStyle.PURPLE) > 300, "tokens/s, bottom right");
        for (Color elsewhere : List.of(PlotStyle.GREEN, PlotStyle.RED, PlotStyle.PURPLE)) {
            assertEquals(0, count(image, 0, 0, w, h, elsewhere), "the loss panel has only train and eval: " + elsewhere);
        }
        for (int panel = 0; panel < 4; panel++) {
            assertTrue(colours(image, (panel % 2) * w, (panel / 2) * h, w, h) > 20,
                    "panel " + panel + " is drawn (text, grid, anti-aliased curve), not blank");
        }
        assertFalse(Files.exists(tmp.resolve("." + TrainingFigure.FILE_NAME + ".tmp")));
    }

    @Test
    void aRunWithoutEvalsHasOnlyTheTrainCurve() throws Exception {
        Path metrics = resumedRunWithASkippedStep(false);
        assertEquals(List.of("train"), List.copyOf(TrainingFigure.panels(metrics).get(0).getSeriesMap().keySet()));
        Path png = tmp.resolve(TrainingFigure.FILE_NAME);
        assertTrue(TrainingFigure.write(metrics, png));
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(count(image, 0, 0, TrainingFigure.PANEL_WIDTH, TrainingFigure.PANEL_HEIGHT, PlotStyle.BLUE) > 300);
        assertEquals(0, count(image, 0, 0, image.getWidth(), image.getHeight(), PlotStyle.ORANGE));
    }

    @Test
    void aSingleStepIsDrawnOnAnAxisFromZero() throws Exception {
        Path metrics = tmp.resolve("metrics.jsonl");
        Files.writeString(metrics, train(7, 9.5) + eval(7, 9.8));
        XYChart loss = TrainingFigure.panels(metrics).get(0);
        assertEquals(0.0, loss.getStyler().getXAxisMin());
        assertEquals(7.0, loss.getStyler().getXAxisMax());
        Path png = tmp.resolve(TrainingFigure.FILE_NAME);
        assertTrue(TrainingFigure.write(metrics, png));
        BufferedImage image = ImageIO.read(png.toFile());
        assertTrue(count(image, 0, 0, TrainingFigure.PANEL_WIDTH, TrainingFigure.PANEL_HEIGHT, PlotStyle.BLUE) > 10,
                "the one train point's marker");
    }

    @Test
    void aPanelWithoutAFiniteValueSaysSoInItsTitle() throws Exception {
        Path metrics = tmp.resolve("metrics.jsonl");
        Files.writeString(metrics, "{\"type\":\"train\",\"step\":1,\"loss\":9.5,\"lr\":0.001,\"grad_norm\":\"Infinity\","
                + "\"skipped\":true}\n");
        List<XYChart> panels = TrainingFigure.panels(metrics);
        assertEquals("loss (1 skipped step, weights not updated)", panels.get(0).getTitle());
        assertEquals("gradient norm (before clipping) (no finite value)", panels.get(2).getTitle());
        assertTrue(panels.get(2).getSeriesMap().isEmpty());
        assertEquals("throughput (no finite value)", panels.get(3).getTitle(), "a line without tokens_per_s");
        assertTrue(TrainingFigure.write(metrics, tmp.resolve(TrainingFigure.FILE_NAME)));
    }

    @Test
    void noFiniteTrainLossWritesNoFigure() throws Exception {
        Path metrics = tmp.resolve("metrics.jsonl");
        Files.writeString(metrics, skipped(1) + eval(1, 9.8));
        Path png = tmp.resolve(TrainingFigure.FILE_NAME);
        assertFalse(TrainingFigure.write(metrics, png));
        assertFalse(Files.exists(png));
    }

    static int count(BufferedImage image, int x0, int y0, int w, int h, Color colour) {
        int n = 0;
        for (int y = y0; y < y0 + h; y++) {
            for (int x = x0; x < x0 + w; x++) {
                if ((image.getRGB(x, y) & 0xffffff) == (colour.getRGB() & 0xffffff)) {
                    n++;
                }
            }
        }
        return n;
    }

    private static int colours(BufferedImage image, int x0, int y0, int w, int h) {
        Set<Integer> seen = new HashSet<>();
        for (int y = y0; y < y0 + h; y++) {
            for (int x = x0; x < x0 + w; x++) {
                seen.add(image.getRGB(x, y));
            }
        }
        return seen.size();
    }
}
