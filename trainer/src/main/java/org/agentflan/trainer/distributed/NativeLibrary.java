package org.agentflan.trainer.distributed;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Loads a shim the build compiled from {@code trainer/src/main/native} and packaged at {@code native/linux-x86_64/}:
 * copied out of the jar to a temporary file, {@code System.load}ed, then deleted (the mapping stays). A missing shim
 * or a missing library behind it fails with what to install.
 */
final class NativeLibrary {
    private static final Set<String> LOADED = new HashSet<>();

    private NativeLibrary() {}

    /** Whether the build packaged {@code lib<name>.so} (false when g++ or a library was missing at build time). */
    static boolean packaged(String name) {
        return NativeLibrary.class.getResource(resource(name)) != null;
    }

    /** Loads {@code lib<name>.so} once per JVM; {@code install} says what to install when it or its dependencies are missing. */
    static synchronized void load(String name, String install) {
        if (LOADED.contains(name)) {
            return;
        }
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new DistributedException("lib" + name + ".so is built for linux-x86_64 only; this is " + os + "/" + arch);
        }
        if (!packaged(name)) {
            throw new DistributedException("this agentflan build has no lib" + name + ".so (the build skipped it because g++ or a"
                    + " library was missing): " + install + ", then rebuild (mvn package)");
        }
        Path temp = null;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource(name))) {
            temp = Files.createTempFile("agentflan-" + name + "-", ".so");
            Files.copy(in, temp, StandardCopyOption.REPLACE_EXISTING);
            System.load(temp.toString());
            LOADED.add(name);
        } catch (UnsatisfiedLinkError e) {
            throw new DistributedException("cannot load lib" + name + ".so: " + e.getMessage() + "; " + install, e);
        } catch (IOException e) {
            throw new DistributedException("cannot copy lib" + name + ".so out of the jar: " + e.getMessage(), e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // a leftover temporary file in /tmp is harmless
                }
            }
        }
    }

    private static String resource(String name) {
        return "/native/linux-x86_64/lib" + name + ".so";
    }
}
