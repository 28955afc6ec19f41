package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.agentflan.trainer.model.LlamaModel;

/**
 * Data parallelism is only correct if every rank starts from the same point: the same weights, the same data, the
 * same step. Nothing else keeps them together (the summed gradients are equal on every rank, so different weights
 * would stay different), and a rank that loaded another checkpoint, or read another copy of the data on a node
 * without the shared file system, would train a different model without a word. So before the first step every
 * rank gathers every rank's checksum of its weights (CRC32C over every weight's bytes, in order), its data
 * fingerprint and its start step, and refuses to train unless they equal rank 0's.
 */
final class IdenticalStart {
    private IdenticalStart() {}

    /** Throws a {@link TrainException} naming what differs and on which ranks; one rank has nothing to compare. */
    static void require(DataParallel ranks, LlamaModel model, String dataFingerprint, long startStep) {
        if (ranks.worldSize() == 1) {
            return;
        }
        long[] mine = {weightsChecksum(model), Long.parseUnsignedLong(dataFingerprint.substring(0, 15), 16), startStep};
        List<long[]> all = ranks.gather(mine);
        String[] what = {"weights (CRC32C)", "training data (fingerprint prefix)", "start step"};
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < what.length; i++) {
            List<String> odd = new ArrayList<>();
            for (int r = 1; r < all.size(); r++) {
                if (all.get(r)[i] != all.get(0)[i]) {
                    odd.add("rank " + r + " has " + format(i, all.get(r)[i]));
                }
            }
            if (!odd.isEmpty()) {
                differences.add(what[i] + ": rank 0 has " + format(i, all.get(0)[i]) + ", " + String.join(", ", odd));
            }
        }
        if (!differences.isEmpty()) {
            throw new TrainException("rank " + ranks.rank() + ": the ranks do not start from the same point ("
                    + String.join("; ", differences) + "). Every rank must see the same run folder (for the resume"
                    + " checkpoint), the same data folders and the same model.hf_dir, e.g. on a shared file system");
        }
    }

    /** CRC32C over the bytes of every weight in the model's order; CUDA weights are copied to the host one at a time. */
    static long weightsChecksum(LlamaModel model) {
        CRC32C crc = new CRC32C();
        for (NDArray weight : model.parameters().values()) {
            try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                NDArray host = weight;
                if (weight.getDevice().isGpu()) {
                    host = weight.toDevice(Device.cpu(), true);
                    host.attach(scope);
                }
                crc.update(host.toByteBuffer(true)); // a view of a contiguous CPU tensor, not a copy
            }
        }
        return crc.getValue();
    }

    private static String format(int what, long value) {
        return what == 2 ? Long.toString(value) : Long.toHexString(value);
    }
}
