package org.agentflan.launch.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.agentflan.config.ConfigException;
import org.agentflan.dataprep.prepare.DriverLogging;
import org.agentflan.launch.RankStatus;
import org.agentflan.trainer.TrainConfig;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * spark-submit's entry point for training as one Spark barrier stage: {@code BarrierTrain --ranks N --config FILE
 * [train options] [--verbose]}; the driver logs at WARN, as the CLI does, unless {@code --verbose}. The driver checks the recipe (a bad one stops here, before any executor is taken), then runs one
 * barrier stage of N tasks, one per rank ({@link RankTask}); each trains as {@code agentflan train} in a child JVM on
 * its executor. A barrier stage starts all its tasks together or none, and any task's failure fails the stage. Spark
 * does not rerun a failed barrier stage whose output goes to the driver, so the driver runs it again, up to
 * {@code spark.stage.maxConsecutiveAttempts} times in all (default 4); train resumes each attempt from the run's
 * newest checkpoint. The driver prints each rank's end and exits with the ranks' common status (0 finished, 1
 * diverged, 75 preempted), or 2 when they differ or the stage failed for good.
 */
public final class BarrierTrain {
    static final String RANKS = "--ranks";
    static final String VERBOSE = "--verbose";
    private static final String PREFIX = "spark barrier train: ";

    private BarrierTrain() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        int ranks = 0;
        Path config = null;
        List<String> overrides = new ArrayList<>();
        List<String> trainArgs = new ArrayList<>();
        boolean verbose = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(VERBOSE)) {
                // INFO on the driver too, and each rank's train gets it for its stack traces and logging.
                verbose = true;
                trainArgs.add(VERBOSE);
                continue;
            }
            if (i + 1 >= args.length) {
                return usage("'" + args[i] + "' needs a value");
            }
            switch (args[i]) {
                case RANKS -> ranks = Integer.parseInt(args[++i]);
                case "--config" -> config = Path.of(args[++i]);
                default -> {
                    if (args[i].equals("--set")) overrides.add(args[i + 1]);
                    trainArgs.add(args[i]);
                    trainArgs.add(args[++i]);
                }
            }
        }
        if (ranks < 1 || config == null) {
            return usage("--ranks N (at least 1) and --config FILE are required");
        }
        String text;
        try {
            text = Files.readString(config);
            TrainConfig.load(config, overrides);
        } catch (IOException e) {
            System.err.println("error: cannot read the recipe " + config + ": " + e.getMessage());
            return 2;
        } catch (ConfigException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        DriverLogging.set(verbose);
        SparkConf conf = new SparkConf().setIfMissing("spark.app.name", "agentflan-train");
        try (JavaSparkContext spark = new JavaSparkContext(conf)) {
            return train(spark, ranks, config.getFileName().toString(), text, trainArgs);
        }
    }

    private static int train(JavaSparkContext spark, int ranks, String configName, String text, List<String> trainArgs) {
        System.out.println(PREFIX + ranks + " ranks as one barrier stage on " + spark.master());
        // Spark reruns a failed barrier stage only when its output feeds a shuffle; this one's goes to the driver (a
        // result stage), whose failure ends the job. So the driver runs the job again itself, as often as Spark
        // would retry a stage.
        int attempts = spark.getConf().getInt("spark.stage.maxConsecutiveAttempts", 4);
        List<RankOutcome> outcomes = null;
        for (int attempt = 1; outcomes == null; attempt++) {
            try {
                outcomes = runStage(spark, ranks, configName, text, trainArgs);
            } catch (Exception e) {
                // Scala declares no checked exceptions: a failed job arrives as a SparkException all the same.
                if (!(e instanceof SparkException)) throw e;
                if (attempt >= attempts) {
                    System.err.println("error: " + PREFIX + "the barrier stage failed " + attempts + " times (spark.stage."
                            + "maxConsecutiveAttempts), the last time: " + firstLine(e) + ". The run folder keeps its newest"
                            + " checkpoint; submit again to resume from it. Each rank's output is in its executor's log,"
                            + " lines prefixed [rank k]");
                    return RankStatus.EXIT_RANK_FAILED;
                }
                System.out.println(PREFIX + "attempt " + attempt + " of " + attempts + " failed: " + firstLine(e)
                        + "; running the stage again, every rank resumes from the newest checkpoint");
            }
        }
        outcomes.sort(Comparator.comparingInt(RankOutcome::rank));
        for (RankOutcome o : outcomes) {
            String last = o.lastLines().isEmpty() ? "(no output)" : o.lastLines().get(o.lastLines().size() - 1);
            System.out.println(PREFIX + "rank " + o.rank() + " on " + o.host() + " " + RankStatus.describe(o.status()) + ": " + last);
        }
        List<Integer> statuses = outcomes.stream().map(RankOutcome::status).distinct().toList();
        if (statuses.size() == 1) {
            return statuses.get(0);
        }
        System.out.println(PREFIX + "the ranks ended differently; submit again to resume from the newest checkpoint");
        return RankStatus.EXIT_RANK_FAILED;
    }

    /** One barrier stage of one task per rank; the ranks' outcomes, or a SparkException when a task failed. */
    private static List<RankOutcome> runStage(JavaSparkContext spark, int ranks, String configName, String text,
                                              List<String> trainArgs) {
        RDD<Integer> rankIds = spark.parallelize(IntStream.range(0, ranks).boxed().toList(), ranks).rdd();
        ClassTag<RankOutcome> tag = ClassTag$.MODULE$.apply(RankOutcome.class);
        return new ArrayList<>(new JavaRDD<>(rankIds.barrier().mapPartitions(new RankTask(configName, text, trainArgs),
                false, tag), tag).collect());
    }

    /** The failure's message up to its first line break (Spark appends the whole stack of the failed task). */
    private static String firstLine(Throwable e) {
        String message = String.valueOf(e.getMessage());
        int cut = message.indexOf("\n\tat ");
        return (cut < 0 ? message : message.substring(0, cut)).strip();
    }

    private static int usage(String problem) {
        System.err.println("error: " + problem + "; usage: BarrierTrain --ranks N --config FILE [--set key=value ...]"
                + " [other agentflan train options]");
        return 2;
    }
}
