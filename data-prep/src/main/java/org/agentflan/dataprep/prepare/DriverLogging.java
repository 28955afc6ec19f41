package org.agentflan.dataprep.prepare;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * The log level of a driver JVM: warnings and above, or with {@code --verbose} everything from INFO up. Spark logs
 * through log4j2 (the backend it brings, which DJL's SLF4J logging also reaches), so the levels are set on log4j2
 * itself, before a SparkSession starts. The CLI's {@code log4j2.properties} already says WARN; a spark-submit driver
 * starts with the cluster's log4j2 configuration (Spark's default: INFO), and {@link PrepareJob#main} brings it to the
 * same WARN, so a job on a cluster prints what {@code agentflan prepare} prints.
 */
public final class DriverLogging {
    private DriverLogging() {}

    /**
     * verbose: every logger at INFO, including those a configuration quietens (Spark's SparkContext, Hadoop's native
     * library notice, DJL's CUDA probe); otherwise the root logger at WARN, leaving quieter loggers as configured.
     */
    public static void set(boolean verbose) {
        if (verbose) {
            Configurator.setAllLevels(LogManager.ROOT_LOGGER_NAME, Level.INFO);
        } else {
            Configurator.setRootLevel(Level.WARN);
        }
    }

    /**
     * Back to the levels of the configuration file, for a JVM that goes on after a verbose command (tests run the CLI
     * in-process, and a later command must not log at INFO).
     */
    public static void reset() {
        ((LoggerContext) LogManager.getContext(false)).reconfigure();
    }
}
