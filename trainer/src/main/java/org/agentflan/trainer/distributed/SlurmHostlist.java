package org.agentflan.trainer.distributed;

import java.util.ArrayList;
import java.util.List;

/**
 * Slurm's compressed host lists, as {@code SLURM_JOB_NODELIST} gives them: {@code gpu[01-04,07]}, {@code a,b},
 * {@code rack[1-2]-n[01-02],login}. Commas separate hosts except inside brackets; a bracket holds numbers and
 * ranges {@code lo-hi}, written with as many digits as {@code lo} has ({@code [098-101]} gives 098 ... 101, and
 * {@code [8-11]} gives 8 ... 11); several brackets in one name multiply, the last varying fastest. These are the rules
 * of Slurm's own {@code scontrol show hostnames}.
 */
public final class SlurmHostlist {
    /** More hosts than any cluster has: a list that expands past this is malformed, not a job's nodes. */
    static final long MAX_HOSTS = 1_000_000;

    private SlurmHostlist() {}

    /** Every host of {@code hostlist}, in Slurm's order; throws {@link IllegalArgumentException} saying what is wrong. */
    public static List<String> expand(String hostlist) {
        List<String> hosts = new ArrayList<>();
        for (String name : splitTopLevel(hostlist)) {
            List<List<String>> parts = parts(name);
            long count = 1;
            for (List<String> part : parts) {
                count *= part.size();
                if (hosts.size() + count > MAX_HOSTS) {
                    throw new IllegalArgumentException("'" + name + "' expands to more than " + MAX_HOSTS + " hosts");
                }
            }
            product(parts, 0, new StringBuilder(), hosts);
        }
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("it names no host");
        }
        return hosts;
    }

    /** The first host: where task 0 of a step runs under Slurm's block and cyclic distributions. */
    public static String first(String hostlist) {
        return expand(hostlist).get(0);
    }

    /** The names between top-level commas; empty ones (a trailing or doubled comma) are skipped, as Slurm does. */
    private static List<String> splitTopLevel(String hostlist) {
        List<String> names = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i <= hostlist.length(); i++) {
            char c = i < hostlist.length() ? hostlist.charAt(i) : ',';
            if (c == '[') {
                if (depth++ > 0) throw new IllegalArgumentException("a '[' inside brackets at character " + (i + 1));
            } else if (c == ']') {
                if (depth-- == 0) throw new IllegalArgumentException("a ']' without '[' at character " + (i + 1));
            } else if (c == ',' && depth == 0) { // a separator, or the end of the list
                String name = hostlist.substring(start, i).trim();
                if (!name.isEmpty()) names.add(name);
                start = i + 1;
            }
        }
        if (depth != 0) {
            throw new IllegalArgumentException("a '[' is never closed");
        }
        return names;
    }

    /** A name as alternating literal text (one choice) and brackets (their numbers, formatted). */
    private static List<List<String>> parts(String name) {
        List<List<String>> parts = new ArrayList<>();
        int i = 0;
        while (i < name.length()) {
            int open = name.indexOf('[', i);
            if (open < 0) {
                parts.add(List.of(name.substring(i)));
                break;
            }
            if (open > i) parts.add(List.of(name.substring(i, open)));
            int close = name.indexOf(']', open);
            parts.add(bracket(name, name.substring(open + 1, close)));
            i = close + 1;
        }
        return parts;
    }

    private static List<String> bracket(String name, String inside) {
        List<String> numbers = new ArrayList<>();
        for (String item : inside.split(",", -1)) {
            if (!item.matches("[0-9]+(-[0-9]+)?")) {
                throw new IllegalArgumentException("'" + name + "' has '" + item + "' in brackets; expected a number or a"
                        + " range such as 01-04");
            }
            int dash = item.indexOf('-');
            String lo = dash < 0 ? item : item.substring(0, dash);
            long from = Long.parseLong(lo);
            long to = dash < 0 ? from : Long.parseLong(item.substring(dash + 1));
            if (to < from) {
                throw new IllegalArgumentException("'" + name + "' has the range " + item + ", which runs backwards");
            }
            if (to - from >= MAX_HOSTS) {
                throw new IllegalArgumentException("'" + name + "' has the range " + item + ", more than " + MAX_HOSTS + " hosts");
            }
            for (long n = from; n <= to; n++) {
                numbers.add(String.format("%0" + lo.length() + "d", n));
            }
        }
        return numbers;
    }

    private static void product(List<List<String>> parts, int at, StringBuilder prefix, List<String> out) {
        if (at == parts.size()) {
            out.add(prefix.toString());
            return;
        }
        for (String choice : parts.get(at)) {
            int length = prefix.length();
            prefix.append(choice);
            product(parts, at + 1, prefix, out);
            prefix.setLength(length);
        }
    }
}
