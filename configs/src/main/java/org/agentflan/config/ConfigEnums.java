package org.agentflan.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How a closed set of config values is written: a Java enum whose constants, in lowercase, are the YAML values
 * ({@code LLAMA2_7B} is {@code llama2_7b}). The loader accepts exactly these names and writes them back the same way.
 */
public final class ConfigEnums {
    private ConfigEnums() {}

    /** The YAML name of a constant: its Java name in lowercase. */
    public static String name(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** Every YAML name of an enum, in declaration order. */
    public static List<String> names(Class<?> enumType) {
        return Arrays.stream(enumType.getEnumConstants()).map(c -> name((Enum<?>) c)).toList();
    }
}
