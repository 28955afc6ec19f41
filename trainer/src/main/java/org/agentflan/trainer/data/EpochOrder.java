package org.agentflan.trainer.data;

import java.util.SplittableRandom;

/**
 * The order in which an epoch visits the samples: a Fisher-Yates shuffle seeded from (seed, epoch) alone, so any
 * epoch's order can be rebuilt on resume without replaying earlier epochs. SplittableRandom's algorithm is fixed
 * by its specification, so the order is the same on every JVM.
 */
public final class EpochOrder {
    private EpochOrder() {}

    public static int[] of(long seed, long epoch, int size, boolean shuffle) {
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        if (!shuffle) {
            return order;
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = size - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
