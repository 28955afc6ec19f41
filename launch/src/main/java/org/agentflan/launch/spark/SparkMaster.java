package org.agentflan.launch.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentflan.launch.UserError;
import org.agentflan.launch.submit.ClusterShape;

/**
 * A Spark master URL as {@code submit --master} gives it, checked for its form before spark-submit sees it, and what
 * the shape's placement options ({@code --partition}, {@code --image}, {@code --time}) mean on that kind of cluster.
 *
 * @param kind which cluster manager the URL names
 * @param url the URL as given
 * @param localThreads for {@code local[N]}, N; for {@code local[*]}, 0 (every core); otherwise 0
 */
public record SparkMaster(Kind kind, String url, int localThreads) {
    /** The cluster managers spark-submit takes. */
    public enum Kind { LOCAL, STANDALONE, YARN, KUBERNETES }

    static final String FORMS = "local[*], local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT";
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|[1-9][0-9]*)])?");
    private static final Pattern STANDALONE = Pattern.compile("spark://[^\\s:/,]+:[0-9]{1,5}(?:,[^\\s:/,]+:[0-9]{1,5})*");
    private static final Pattern KUBERNETES = Pattern.compile("k8s://https?://[^\\s:/]+(?::[0-9]{1,5})?/?");

    /** Parses {@code --master}; refuses a missing URL or one spark-submit would not take, naming the forms it takes. */
    public static SparkMaster parse(String url, String target) {
        if (url == null || url.isBlank()) {
            throw new UserError("submit --target " + target + " needs --master: one of " + FORMS);
        }
        Matcher local = LOCAL.matcher(url);
        if (local.matches()) {
            String n = local.group(1);
            return new SparkMaster(Kind.LOCAL, url, n == null ? 1 : n.equals("*") ? 0 : Integer.parseInt(n));
        }
        if (STANDALONE.matcher(url).matches()) {
            return new SparkMaster(Kind.STANDALONE, url, 0);
        }
        if (url.equals("yarn")) {
            return new SparkMaster(Kind.YARN, url, 0);
        }
        if (KUBERNETES.matcher(url).matches()) {
            return new SparkMaster(Kind.KUBERNETES, url, 0);
        }
        String hint = url.startsWith("k8s://") ? " (a Kubernetes master names its API server with its scheme: k8s://https://HOST:PORT)"
                : url.startsWith("spark://") ? " (a standalone master is spark://HOST:PORT, with the port its master printed, 7077 by default)"
                : url.startsWith("yarn-") ? " (yarn-client and yarn-cluster are gone since Spark 2: use yarn)"
                : "";
        throw new UserError("--master " + url + " is not a Spark master URL" + hint + "; use one of " + FORMS);
    }

    public boolean isLocal() {
        return kind == Kind.LOCAL;
    }

    /**
     * spark-submit's options for the shape's placement: {@code --queue} for YARN's queue, the namespace and the image
     * on Kubernetes. Refuses what this kind of cluster cannot honour: a partition or image where none applies, a
     * Kubernetes job without an image, any time limit (Spark has no wall-clock limit for an application), a volume.
     */
    List<String> placement(ClusterShape shape, String target) {
        List<String> args = new ArrayList<>();
        if (shape.timeLimit() != null) {
            throw new UserError("submit --target " + target + ": Spark has no wall-clock limit for an application; drop --time"
                    + " (a train run stops early with --set max_steps=N and resumes from its checkpoint)");
        }
        if (shape.volume() != null) {
            throw new UserError("submit --target " + target + ": --volume " + shape.volume() + " mounts a claim into the k8s"
                    + " target's pods; Spark's executors read the paths in the recipe directly, so drop --volume and give"
                    + " absolute paths on storage every node sees");
        }
        if (shape.partition() != null) {
            switch (kind) {
                case YARN -> args.addAll(List.of("--queue", shape.partition()));
                case KUBERNETES -> args.addAll(List.of("--conf", "spark.kubernetes.namespace=" + shape.partition()));
                default -> throw new UserError("--partition " + shape.partition() + " has no meaning for --master " + url
                        + ": it is a YARN queue or a Kubernetes namespace; drop it");
            }
        }
        if (kind == Kind.KUBERNETES) {
            if (shape.image() == null) {
                throw new UserError("--master " + url + " runs executors in pods: pass --image with a container image that"
                        + " holds Spark 4 and Java 17 (Spark's own image, e.g. apache/spark)");
            }
            args.addAll(List.of("--conf", "spark.kubernetes.container.image=" + shape.image()));
        } else if (shape.image() != null) {
            throw new UserError("--image " + shape.image() + " has no meaning for --master " + url
                    + ": it is the executors' container image on Kubernetes (k8s://...); drop it");
        }
        return args;
    }
}
