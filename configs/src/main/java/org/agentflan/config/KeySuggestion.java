package org.agentflan.config;

import java.util.List;

/** The tail of an unknown-key message: the closest known key, and the keys known at that level. */
final class KeySuggestion {
    private KeySuggestion() {}

    /** E.g. {@code " (did you mean 'steps'?); known keys here: name, steps"}; the hint only when a key is close. */
    static String among(String key, List<String> siblings) {
        return among(key, siblings, List.of());
    }

    /**
     * @param elsewhere dotted paths of every key in the config; when no sibling is close, a key of the same name
     *                  in another section is suggested by its full path ({@code lr} at the top: {@code optimizer.lr})
     */
    static String among(String key, List<String> siblings, List<String> elsewhere) {
        String best = closest(key, siblings);
        if (best == null) {
            String bestPath = null;
            int bestDistance = Integer.MAX_VALUE;
            for (String path : elsewhere) {
                int d = editDistance(path.substring(path.lastIndexOf('.') + 1), key);
                if (d < bestDistance && close(d, key)) {
                    bestDistance = d;
                    bestPath = path;
                }
            }
            best = bestPath;
        }
        return (best == null ? "" : " (did you mean '" + best + "'?)") + "; known keys here: " + String.join(", ", siblings);
    }

    private static String closest(String key, List<String> names) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String name : names) {
            int d = editDistance(name, key);
            if (d < bestDistance) {
                bestDistance = d;
                best = name;
            }
        }
        return best != null && close(bestDistance, key) ? best : null;
    }

    /** Close enough to be a typo: two edits, or a third of the key's length for long keys. */
    private static boolean close(int distance, String key) {
        return distance <= Math.max(2, key.length() / 3);
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }
}
