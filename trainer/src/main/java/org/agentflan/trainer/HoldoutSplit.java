package org.agentflan.trainer;

import java.nio.charset.StandardCharsets;

/**
 * Which samples of a data folder a run holds out for its eval loss ({@code data.holdout_fraction}): those whose id
 * hashes with the run's seed below the fraction. The one rule for training ({@link Datasets}) and for
 * {@code agentflan eval --split heldout}, so that both see the same samples; stable under reordering.
 */
public final class HoldoutSplit {
    private HoldoutSplit() {}

    /** Whether the sample {@code id} is held out by a run with this seed and holdout fraction. */
    public static boolean heldOut(long seed, double fraction, String id) {
        return unit(seed, id) < fraction;
    }

    /** A number in [0, 1) from (seed, id), the same on every machine (FNV-1a 64 then a splitmix finaliser). */
    static double unit(long seed, String id) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (h >>> 11) / (double) (1L << 53);
    }
}
