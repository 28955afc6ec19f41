package org.agentflan.dataprep.util;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The one hash every deterministic choice in data-prep goes through (ids, sampling, copies, phrasings).
 * SHA-256 of the parts, each length-prefixed so ("ab","c") and ("a","bc") differ. It depends only on its
 * inputs, never on partitioning, JVM or run, so a decision made on any executor is the same everywhere.
 */
public final class StableHash {
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks SHA-256", e);
        }
    });

    private StableHash() {}

    /** The 32-byte digest of the parts (each rendered with {@code String.valueOf}). */
    public static byte[] digest(Object... parts) {
        MessageDigest md = SHA256.get();
        md.reset();
        for (Object part : parts) {
            byte[] bytes = String.valueOf(part).getBytes(StandardCharsets.UTF_8);
            int n = bytes.length;
            md.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
            md.update(bytes);
        }
        return md.digest();
    }

    /** A 64-bit value from the digest's first 8 bytes. */
    public static long longHash(Object... parts) {
        byte[] d = digest(parts);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (d[i] & 0xFF);
        }
        return v;
    }

    /** Uniform in [0, 1): the top 53 bits of {@link #longHash}, the resolution of a double. */
    public static double uniform(Object... parts) {
        return (longHash(parts) >>> 11) * 0x1.0p-53;
    }

    /** A non-negative index below {@code bound}; bias is below 2^-40 for bounds under 2^23. */
    public static int index(int bound, Object... parts) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be > 0, got " + bound);
        }
        return (int) Long.remainderUnsigned(longHash(parts), bound);
    }

    /** Lower-case hex of the first {@code bytes} bytes of the digest, for ids. */
    public static String hex(int bytes, Object... parts) {
        byte[] d = digest(parts);
        return HexFormat.of().formatHex(d, 0, Math.min(bytes, d.length));
    }
}
