package org.agentflan.trainer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float[] LOGITS = {1.0f, 3.0f, 2.0f, 0.5f};

    @Test
    void temperatureZeroIsGreedy() {
        Sampler sampler = new Sampler(0, 1, 1);
        for (int i = 0; i < 10; i++) {
            assertEquals(1, sampler.next(LOGITS));
        }
    }

    @Test
    void smallTopPKeepsOnlyTheMostLikelyToken() {
        Sampler sampler = new Sampler(1.0, 0.05, 3);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, sampler.next(LOGITS));
        }
    }

    @Test
    void sameSeedSameSamples() {
        Sampler a = new Sampler(1.0, 0.9, 42);
        Sampler b = new Sampler(1.0, 0.9, 42);
        for (int i = 0; i < 100; i++) {
            assertEquals(a.next(LOGITS), b.next(LOGITS));
        }
    }

    @Test
    void frequenciesFollowSoftmaxAndTopPDropsTheTail() {
        // softmax(1,3,2,0.5) = .0854 .6308 .2321 .0518; top-p 0.9 keeps tokens 1, 2 and 0 (mass .948)
        Sampler sampler = new Sampler(1.0, 0.9, 7);
        int[] counts = new int[4];
        int n = 20000;
        for (int i = 0; i < n; i++) {
            counts[sampler.next(LOGITS)]++;
        }
        assertEquals(0, counts[3], "token 3 lies outside the nucleus");
        assertEquals(0.6308 / 0.9483, counts[1] / (double) n, 0.015);
        assertEquals(0.2321 / 0.9483, counts[2] / (double) n, 0.015);
        assertEquals(0.0854 / 0.9483, counts[0] / (double) n, 0.015);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new Sampler(-1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Sampler(1, 0, 0));
        assertTrue(new Sampler(0.5, 1, 0).next(LOGITS) >= 0);
    }
}
