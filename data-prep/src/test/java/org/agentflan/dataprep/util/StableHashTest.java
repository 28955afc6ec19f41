package org.agentflan.dataprep.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class StableHashTest {

    @Test
    void isSha256OfLengthPrefixedParts() throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(new byte[] {0, 0, 0, 2});
        md.update("ab".getBytes(StandardCharsets.UTF_8));
        md.update(new byte[] {0, 0, 0, 1});
        md.update("7".getBytes(StandardCharsets.UTF_8));
        assertEquals(HexFormat.of().formatHex(md.digest()), StableHash.hex(32, "ab", 7));
        assertNotEquals(StableHash.hex(16, "ab", "c"), StableHash.hex(16, "a", "bc"), "part boundaries matter");
    }

    @Test
    void uniformIsInUnitIntervalAndEvenlySpread() {
        int n = 100_000;
        int[] buckets = new int[10];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double u = StableHash.uniform(42L, "id-" + i);
            assertTrue(u >= 0 && u < 1);
            buckets[(int) (u * 10)]++;
            sum += u;
        }
        assertEquals(0.5, sum / n, 0.005);
        for (int b : buckets) {
            assertEquals(n / 10.0, b, 500, "each tenth within ~5 sigma");
        }
        assertEquals(StableHash.uniform(42L, "x"), StableHash.uniform(42L, "x"));
        assertNotEquals(StableHash.uniform(42L, "x"), StableHash.uniform(43L, "x"));
    }

    @Test
    void indexStaysBelowItsBound() {
        int[] seen = new int[7];
        for (int i = 0; i < 7000; i++) {
            seen[StableHash.index(7, "k", i)]++;
        }
        for (int s : seen) {
            assertTrue(s > 800 && s < 1200, "roughly uniform: " + s);
        }
    }
}
