package org.agentflan.dataprep;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;

/** A small real local[2] Spark session for one test class, and the paths tests read from. */
public final class SparkTestSession {
    private SparkTestSession() {}

    public static SparkSession start(String name) {
        return SparkSession.builder()
                .master("local[2]")
                .appName(name)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .getOrCreate();
    }

    /** The repository's sample-data folder (tests run with the module folder as working directory). */
    public static Path sampleData() {
        return Path.of("").toAbsolutePath().getParent().resolve("sample-data");
    }

    public static Path testResource(String relative) {
        return Path.of("src/test/resources").toAbsolutePath().resolve(relative);
    }
}
