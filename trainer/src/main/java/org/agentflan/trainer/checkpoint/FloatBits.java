package org.agentflan.trainer.checkpoint;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;

/**
 * Bit-exact conversions between float32 and the 16-bit float formats, on whole buffers.
 *
 * <p>Java 17 has no float16 support, and DJL must never see a BF16 array (it crashes on CPU), so the
 * checkpoint code converts here. Narrowing rounds to nearest, ties to even, as PyTorch does.
 */
final class FloatBits {
    /** float32 bits of every float16 bit pattern: a table lookup is exact and faster than bit fiddling. */
    private static final int[] HALF_TO_FLOAT = new int[1 << 16];

    static {
        for (int h = 0; h < HALF_TO_FLOAT.length; h++) {
            HALF_TO_FLOAT[h] = halfToFloatBitsSlow(h);
        }
    }

    private FloatBits() {}

    private static int halfToFloatBitsSlow(int h) {
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0) {
            // zero or subnormal: mantissa * 2^-24 is exactly representable in float32
            return sign | Float.floatToRawIntBits(mantissa * 0x1p-24f);
        }
        if (exponent == 0x1f) {
            return sign | 0x7f800000 | (mantissa << 13);
        }
        return sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
    }

    /** float32 to float16, round to nearest even; NaN becomes the quiet NaN 0x7e00 with its sign, as in c10. */
    static short floatToHalf(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000;
        int abs = x & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00);
        }
        if (abs >= 0x47800000) {
            return (short) (sign | 0x7c00); // 2^16 and beyond (and infinity) overflow
        }
        if (abs < 0x38800000) {
            // below the smallest normal float16 (2^-14): the result is subnormal or zero
            if (abs < 0x33000000) {
                return (short) sign;
            }
            int exponent = abs >>> 23;
            int mantissa = (abs & 0x7fffff) | 0x800000;
            int shift = 126 - exponent;
            int half = mantissa >>> shift;
            int rest = mantissa & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rest > halfway || (rest == halfway && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = ((((abs >>> 23) - 127 + 15) << 10) | ((abs & 0x7fffff) >>> 13));
        int rest = abs & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++; // a carry into the exponent is the correct rounding, up to infinity
        }
        return (short) (sign | half);
    }

    /** float32 to bfloat16, round to nearest even; every NaN becomes 0x7fc0, as in c10. */
    static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7fffffff) > 0x7f800000) {
            return (short) 0x7fc0;
        }
        return (short) ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
    }

    /** Converts {@code count} elements of {@code from} in {@code src} into float32 in {@code dst} (both little-endian views). */
    static void toFloat32(SafetensorsDType from, ByteBuffer src, ByteBuffer dst, int dstIndex, int count) {
        IntBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        switch (from) {
            case F16 -> {
                ShortBuffer in = src.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out.put(dstIndex + i, HALF_TO_FLOAT[in.get(i) & 0xffff]);
                }
            }
            case BF16 -> {
                ShortBuffer in = src.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out.put(dstIndex + i, (in.get(i) & 0xffff) << 16);
                }
            }
            case F64 -> {
                var in = src.order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                for (int i = 0; i < count; i++) {
                    out.put(dstIndex + i, Float.floatToRawIntBits((float) in.get(i)));
                }
            }
            default -> throw new IllegalArgumentException("no float32 conversion from " + from);
        }
    }

    /** Narrows {@code count} float32 values of {@code src} starting at {@code srcIndex} into F16 or BF16 in {@code dst}. */
    static void fromFloat32(SafetensorsDType to, ByteBuffer src, int srcIndex, ByteBuffer dst, int count) {
        var in = src.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        ShortBuffer out = dst.order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        switch (to) {
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out.put(i, floatToHalf(in.get(srcIndex + i)));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out.put(i, floatToBf16(in.get(srcIndex + i)));
                }
            }
            default -> throw new IllegalArgumentException("no conversion from float32 to " + to);
        }
    }
}
