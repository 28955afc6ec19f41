package org.agentflan.trainer.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The capability plot read back as pixels: its size, each curve's colour, and no plot without labelled evals. */
class CapabilityPlotTest {
    @TempDir Path tmp;

    @Test
    void drawsOneCurvePerCapabilityFromTheEvalLines() throws Exception {
        Path metrics = tmp.resolve("metrics.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int step = 10; step <= 60; step += 10) {
            lines.append("{\"type\":\"train\",\"step\":").append(step).append(",\"loss\":9.0}\n");
            double t = step / 60.0;
            lines.append(String.format(java.util.Locale.ROOT, "{\"type\":\"eval\",\"step\":%d,\"loss\":%.3f,"
                    + "\"loss_by_capability\":{\"reasoning\":%.3f,\"retrieval\":%.3f,\"chat\":%.3f}}%n",
                    step, 6 - 2 * t, 6 - 3 * t, 7 - t, 5 - 2.5 * t));
        }
        Files.writeString(metrics, lines);
        Path png = tmp.resolve(CapabilityPlot.FILE_NAME);
        assertTrue(CapabilityPlot.write(metrics, png));
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(CapabilityPlot.WIDTH, image.getWidth());
        assertEquals(CapabilityPlot.HEIGHT, image.getHeight());
        // reasoning, retrieval and chat in their colours; understanding has no points, so its colour is absent.
        assertTrue(count(image, 0x1f77b4) > 200, "reasoning's curve");
        assertTrue(count(image, 0xff7f0e) > 200, "retrieval's curve");
        assertTrue(count(image, 0x9467bd) > 200, "chat's curve");
        assertEquals(0, count(image, 0x2ca02c), "understanding has no curve");
        assertFalse(Files.exists(tmp.resolve("." + CapabilityPlot.FILE_NAME + ".tmp")));
    }

    @Test
    void noLabelledEvalLineWritesNoPlot() throws Exception {
        Path metrics = tmp.resolve("metrics.jsonl");
        Files.writeString(metrics, "{\"type\":\"train\",\"step\":1,\"loss\":9.0}\n"
                + "{\"type\":\"eval\",\"step\":1,\"loss\":8.0,\"note\":\"no labels\"}\n");
        Path png = tmp.resolve(CapabilityPlot.FILE_NAME);
        assertFalse(CapabilityPlot.write(metrics, png));
        assertFalse(Files.exists(png));
    }

    private static int count(BufferedImage image, int rgb) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) n++;
            }
        }
        return n;
    }
}
