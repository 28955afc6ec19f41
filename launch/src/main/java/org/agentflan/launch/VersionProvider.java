package org.agentflan.launch;

import ai.djl.engine.Engine;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code --version}: agentflan's own version and those of the libraries a run depends on, each asked of the library
 * itself: DJL, the libtorch its PyTorch engine loads (the engine is loaded for that, as {@code env} does), Spark (its
 * build info; Spark is not started) and the Java runtime.
 */
public final class VersionProvider implements IVersionProvider {
    /** Written by Maven's resource filtering from the project's version. */
    static final String VERSION_RESOURCE = "version.properties";

    @Override
    public String[] getVersion() {
        String[] lines = {
            "agentflan " + project(),
            "DJL       " + Engine.getDjlVersion(),
            "PyTorch   " + pytorch(),
            "Spark     " + org.apache.spark.package$.MODULE$.SPARK_VERSION(),
            "Java      " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")",
        };
        // picocli formats each line (String.format), so a '%' in a path or message must not start a conversion.
        for (int i = 0; i < lines.length; i++) {
            lines[i] = lines[i].replace("%", "%%");
        }
        return lines;
    }

    /** agentflan's version, as the build wrote it. */
    static String project() {
        Properties properties = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream(VERSION_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(VERSION_RESOURCE + " is missing from the class path: rebuild agentflan"
                        + " (mvn -B -DskipTests install)");
            }
            properties.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + VERSION_RESOURCE, e);
        }
        return properties.getProperty("version");
    }

    /** libtorch's version with its build and folder, or why the engine did not load. */
    private static String pytorch() {
        try {
            return Libtorch.load().describe();
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            return "the PyTorch engine did not load (" + e.getMessage() + "); 'agentflan env' says what to install";
        }
    }
}
