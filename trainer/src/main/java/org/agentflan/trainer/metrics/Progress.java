package org.agentflan.trainer.metrics;

import java.io.PrintStream;
import java.util.Locale;

/** The console line users watch: step, loss, learning rate, rate in tokens/s and steps/s, and the ETA. */
public final class Progress {
    private final PrintStream out;
    private final long totalSteps;

    public Progress(PrintStream out, long totalSteps) {
        this.out = out;
        this.totalSteps = totalSteps;
    }

    /**
     * @param stepsThisRun steps done since this process started; with {@code seconds} they give the rate
     */
    public void step(long step, double loss, double lr, double gradNorm, double tokensPerS, long stepsThisRun,
                     double seconds) {
        double stepsPerS = stepsThisRun / Math.max(seconds, 1e-9);
        long eta = (long) ((totalSteps - step) / Math.max(stepsPerS, 1e-9));
        out.printf(Locale.ROOT, "step %d/%d (%.1f%%) loss %.4f lr %.3g grad_norm %.3f | %.0f tok/s %.2f step/s | ETA %s%n",
                step, totalSteps, 100.0 * step / totalSteps, loss, lr, gradNorm, tokensPerS, stepsPerS, duration(eta));
    }

    public static String duration(long seconds) {
        return seconds >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60)
                : String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
    }
}
