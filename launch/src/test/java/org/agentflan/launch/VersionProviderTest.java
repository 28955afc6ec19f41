package org.agentflan.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkContext;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code agentflan --version}: each component's version against what the library itself reports, asked another way
 * than VersionProvider asks it where there is one (the jar's manifest, the pom).
 */
class VersionProviderTest {
    @Test
    void printsTheVersionOfAgentflanDjlLibtorchSparkAndJava() throws Exception {
        Map<String, String> lines = version();
        assertEquals(java.util.List.of("agentflan", "DJL", "PyTorch", "Spark", "Java"), java.util.List.copyOf(lines.keySet()));

        // The build filters the project's version into version.properties; the module's pom names it.
        Matcher parent = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL)
                .matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(parent.find());
        assertEquals(parent.group(1), lines.get("agentflan"));

        // DJL's api jar: the version DJL reports, and its manifest's Specification-Version.
        assertEquals(Engine.getDjlVersion(), lines.get("DJL"));
        assertEquals(Engine.class.getPackage().getSpecificationVersion(), lines.get("DJL"));

        // The libtorch the PyTorch engine loaded, with its build and folder, as 'env' reports it.
        Engine pytorch = Engine.getEngine("PyTorch");
        assertTrue(lines.get("PyTorch").matches("libtorch " + Pattern.quote(pytorch.getVersion())
                + ", (CPU|CUDA) build, loaded from /.+"), lines.get("PyTorch"));
        assertTrue(pytorch.getVersion().matches("\\d+\\.\\d+\\.\\d+"), pytorch.getVersion());

        // Spark's build info, and spark-core's manifest.
        assertEquals(org.apache.spark.package$.MODULE$.SPARK_VERSION(), lines.get("Spark"));
        assertEquals(SparkContext.class.getPackage().getImplementationVersion(), lines.get("Spark"));

        assertEquals(System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")",
                lines.get("Java"));
    }

    @Test
    void everySubcommandPrintsTheSameVersion() {
        String top = run("--version");
        for (String name : Main.commandLine().getSubcommands().keySet()) {
            if (!name.equals("help")) { // picocli's help command has no --version
                assertEquals(top, run(name, "--version"), name);
            }
        }
    }

    /** Each line of {@code agentflan --version}, keyed by its first word. */
    private static Map<String, String> version() {
        Map<String, String> lines = new LinkedHashMap<>();
        for (String line : run("--version").lines().toList()) {
            String[] parts = line.split(" +", 2);
            lines.put(parts[0], parts[1]);
        }
        return lines;
    }

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        assertEquals(0, cli.execute(args));
        return out.toString();
    }
}
