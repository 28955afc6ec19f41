package org.agentflan.launch.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.agentflan.launch.UserError;

/**
 * The parts every agentflan spark-submit line shares: which spark-submit runs, the master with client deploy mode,
 * and the Java 17 flags Spark needs on the driver and the executors. The flags are those of Spark's own build
 * (spark-parent's {@code extraJavaTestArgs}), the set docs/design.md section 8 lists and the parent pom's
 * {@code jvm.flags} carries.
 */
final class SparkSubmitLine {
    static final List<String> JAVA17_FLAGS;

    static {
        List<String> flags = new ArrayList<>(List.of("-XX:+IgnoreUnrecognizedVMOptions", "--add-modules=jdk.incubator.vector"));
        for (String pkg : List.of("java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
                "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch",
                "sun.nio.cs", "sun.security.action", "sun.util.calendar")) {
            flags.add("--add-opens=java.base/" + pkg + "=ALL-UNNAMED");
        }
        flags.addAll(List.of("-Djdk.reflect.useDirectMethodHandle=false", "-Dio.netty.tryReflectionSetAccessible=true",
                "--enable-native-access=ALL-UNNAMED"));
        JAVA17_FLAGS = List.copyOf(flags);
    }

    private SparkSubmitLine() {}

    /**
     * spark-submit as a Spark distribution installs it: {@code $SPARK_HOME/bin/spark-submit} when SPARK_HOME is set
     * (it must be there then), else {@code spark-submit} from the PATH.
     */
    static String executable(Map<String, String> env) {
        String home = env.get("SPARK_HOME");
        if (home == null || home.isBlank()) {
            return "spark-submit";
        }
        Path submit = Path.of(home, "bin", "spark-submit");
        if (!Files.isExecutable(submit)) {
            throw new UserError("SPARK_HOME is " + home + ", but " + submit + " is not an executable file: point SPARK_HOME"
                    + " at a Spark 4 distribution, or unset it to use spark-submit from the PATH");
        }
        return submit.toString();
    }

    /**
     * The line up to the application: spark-submit, master, client deploy mode, the main class, the Java 17 flags
     * for the driver and, with {@code executorExtra} added, for the executors. Client mode: the driver reads the
     * recipe from this machine and spark-submit ends with the job's exit status, which {@code submit} reports.
     */
    static List<String> start(Map<String, String> env, SparkMaster master, String mainClass, List<String> executorExtra) {
        List<String> executorFlags = new ArrayList<>(JAVA17_FLAGS);
        executorFlags.addAll(executorExtra);
        return new ArrayList<>(List.of(executable(env),
                "--master", master.url(),
                "--deploy-mode", "client",
                "--class", mainClass,
                "--driver-java-options", String.join(" ", JAVA17_FLAGS),
                "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", executorFlags)));
    }

    /** The file each Spark submission writes into its submit folder: the command, quoted for a shell. */
    static final String SCRIPT = "spark-submit.sh";

    /**
     * The command as a shell script, one option per line, so that the submit folder records exactly what ran and a
     * user can run or adapt it (the flags hold spaces, which a plain join of the arguments would lose).
     */
    static String script(List<String> command) {
        StringBuilder out = new StringBuilder("#!/bin/sh\n# written by agentflan submit; runs the same spark-submit again\n");
        out.append(quote(command.get(0)));
        for (int i = 1; i < command.size(); i++) {
            boolean option = command.get(i).startsWith("--") && i + 1 < command.size() && !command.get(i + 1).startsWith("--");
            out.append(" \\\n  ").append(quote(command.get(i)));
            if (option) {
                out.append(' ').append(quote(command.get(++i)));
            }
        }
        return out.append('\n').toString();
    }

    /** A shell word: as it is when it holds only safe characters, else in single quotes. */
    static String quote(String word) {
        return word.matches("[A-Za-z0-9_./:=,@%+\\-]+") ? word : "'" + word.replace("'", "'\"'\"'") + "'";
    }

    /**
     * Notes a path the driver or an executor would resolve against its own working folder. {@code uriAllowed}: the
     * reader goes through Hadoop's FileSystem (the data stage), so {@code hdfs://...} and the like are fine too.
     */
    static void requireAbsolute(String key, String path, boolean uriAllowed, List<String> problems) {
        if (path == null || path.isBlank()) {
            return;
        }
        if (path.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            if (!uriAllowed) {
                problems.add(key + " is the URI '" + path + "', but the trainer reads local files only");
            }
        } else if (!Path.of(path).isAbsolute()) {
            problems.add(key + " is the relative path '" + path + "'");
        }
    }

    /** One refusal listing every path that will not do, with what to do about them. */
    static void refusePaths(List<String> problems, String target) {
        if (!problems.isEmpty()) {
            throw new UserError("submit --target " + target + " needs absolute paths, because the driver runs in the submit"
                    + " folder and executors in their own work folders: " + String.join("; ", problems)
                    + ". Give each as an absolute path on storage every node sees at that path, e.g. --set KEY=/shared/...");
        }
    }

    /**
     * A module's shaded jar (classifier cluster) as {@code mvn package} leaves it in MODULE/target: data-prep's for the
     * data stage, launch's for training. Both carry agentflan and the libraries Spark does not ship, and no Spark.
     */
    static Path clusterJar(Path projectRoot, String module) {
        Path target = projectRoot.resolve(module).resolve("target");
        List<Path> jars;
        try (Stream<Path> files = Files.isDirectory(target) ? Files.list(target) : Stream.empty()) {
            jars = files.filter(p -> p.getFileName().toString().matches("agentflan-" + module + "-.*-cluster\\.jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (jars.size() != 1) {
            throw new UserError((jars.isEmpty() ? "no " + module + " cluster jar in " + target
                    : "more than one " + module + " cluster jar in " + target + ": " + jars)
                    + "; build exactly one with mvn -B -pl " + module + " -am package -DskipTests");
        }
        return jars.get(0);
    }
}
