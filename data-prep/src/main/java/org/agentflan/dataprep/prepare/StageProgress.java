package org.agentflan.dataprep.prepare;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Logs each Spark stage's progress with task rate and ETA at most every few seconds, and its total at the end:
 * a plain-text companion to Spark's console bar that also survives in log files.
 */
final class StageProgress extends SparkListener {
    private static final long EVERY_MS = 5_000;

    private record Stage(String site, int tasks, long startMs, AtomicInteger done) {}

    private final Map<Integer, Stage> stages = new ConcurrentHashMap<>();
    private volatile long lastLogMs;

    @Override
    public void onStageSubmitted(SparkListenerStageSubmitted event) {
        var info = event.stageInfo();
        stages.put(info.stageId(), new Stage(callSite(info.details()), info.numTasks(), System.currentTimeMillis(), new AtomicInteger()));
    }

    /** The first of our frames in the stage's creation stack, e.g. "CorpusWriter.java:69". */
    private static String callSite(String details) {
        for (String line : details.split("\n")) {
            if (line.contains("org.agentflan") && line.contains("(")) {
                return line.substring(line.lastIndexOf('(') + 1, line.length() - 1);
            }
        }
        return "spark";
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd event) {
        Stage s = stages.get(event.stageId());
        if (s == null) {
            return;
        }
        int done = s.done().incrementAndGet();
        long now = System.currentTimeMillis();
        if (now - lastLogMs >= EVERY_MS && done < s.tasks()) {
            lastLogMs = now;
            double seconds = (now - s.startMs()) / 1000.0;
            double rate = done / Math.max(seconds, 1e-3);
            System.err.printf("prepare: stage %d: %d/%d tasks, %.2f tasks/s, ETA %.0f s%n",
                    event.stageId(), done, s.tasks(), rate, (s.tasks() - done) / rate);
        }
    }

    @Override
    public void onStageCompleted(SparkListenerStageCompleted event) {
        Stage s = stages.remove(event.stageInfo().stageId());
        if (s != null && System.currentTimeMillis() - s.startMs() > 2_000) {
            System.err.printf("prepare: stage %d (%s) done: %d tasks in %.1f s%n", event.stageInfo().stageId(),
                    s.site(), s.tasks(), (System.currentTimeMillis() - s.startMs()) / 1000.0);
        }
    }
}
