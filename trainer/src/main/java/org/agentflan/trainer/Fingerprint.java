package org.agentflan.trainer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.agentflan.trainer.data.Sample;

/** SHA-256 fingerprints, saved in each checkpoint, of what its steps were trained on: the data and the config. */
final class Fingerprint {
    private Fingerprint() {}

    /** Over ids and tokens of the training samples, in order: equal iff a data cursor means the same samples. */
    static String ofSamples(List<Sample> samples) {
        MessageDigest digest = sha256();
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        for (Sample s : samples) {
            digest.update(s.id().getBytes(StandardCharsets.UTF_8));
            for (int i = 0; i < s.length(); i++) {
                if (buf.remaining() < 8) {
                    digest.update(buf.array(), 0, buf.position());
                    buf.clear();
                }
                buf.putInt(s.inputIds()[i]).putInt(s.lossMask()[i]);
            }
            digest.update(buf.array(), 0, buf.position());
            buf.clear();
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static String ofBytes(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
