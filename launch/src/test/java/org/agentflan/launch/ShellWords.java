package org.agentflan.launch;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code agentflan} invocations in a line of shell, as bash would split them: words split on blanks, single and
 * double quotes, backslash-newline continuations, comments, and the operators the help examples use ({@code |},
 * {@code >} with its target, {@code <(...)}). Each invocation's arguments come back without the leading program word.
 */
final class ShellWords {
    static final String PROGRAM = "scripts/agentflan";

    private ShellWords() {
    }

    /** The argument lists of every {@value #PROGRAM} command in {@code shell}, in order. */
    static List<List<String>> invocations(String shell) {
        List<List<String>> invocations = new ArrayList<>();
        List<String> segment = new ArrayList<>();
        List<String> words = words(shell.replace("\\\n", " "));
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            switch (word) {
                case "|", "<(", ")" -> {
                    addIfProgram(segment, invocations);
                    segment = new ArrayList<>();
                }
                case ">" -> i++; // the redirection's target is no argument
                default -> segment.add(word);
            }
        }
        addIfProgram(segment, invocations);
        return invocations;
    }

    private static void addIfProgram(List<String> segment, List<List<String>> invocations) {
        if (!segment.isEmpty() && segment.get(0).equals(PROGRAM)) {
            invocations.add(List.copyOf(segment.subList(1, segment.size())));
        }
    }

    /** Words and operators; a quoted operator character is part of a word. */
    static List<String> words(String shell) {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        for (int i = 0; i < shell.length(); i++) {
            char c = shell.charAt(i);
            if (c == '\'' || c == '"') {
                word = word == null ? new StringBuilder() : word;
                i = quoted(shell, i, word);
            } else if (Character.isWhitespace(c) || c == '|' || c == '>' || c == ')' || (c == '<' && next(shell, i) == '(')) {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
                if (c == '<') {
                    words.add("<(");
                    i++;
                } else if (!Character.isWhitespace(c)) {
                    words.add(String.valueOf(c));
                }
            } else if (c == '#' && word == null) {
                int end = shell.indexOf('\n', i);
                i = end < 0 ? shell.length() : end;
            } else {
                word = word == null ? new StringBuilder() : word;
                word.append(c);
            }
        }
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }

    /** Appends the quoted text that starts at {@code open} to {@code word}; returns the closing quote's index. */
    private static int quoted(String shell, int open, StringBuilder word) {
        char quote = shell.charAt(open);
        for (int i = open + 1; i < shell.length(); i++) {
            char c = shell.charAt(i);
            if (c == quote) {
                return i;
            }
            // Inside double quotes a backslash escapes only ", \, $ and `; inside single quotes nothing is special.
            if (quote == '"' && c == '\\' && "\"\\$`".indexOf(next(shell, i)) >= 0) {
                c = shell.charAt(++i);
            }
            word.append(c);
        }
        throw new IllegalArgumentException("unclosed " + quote + " in: " + shell);
    }

    private static char next(String s, int i) {
        return i + 1 < s.length() ? s.charAt(i + 1) : '\0';
    }
}
