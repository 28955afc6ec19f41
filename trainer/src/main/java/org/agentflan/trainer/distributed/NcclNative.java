package org.agentflan.trainer.distributed;

import java.nio.ByteBuffer;

/**
 * The JNI entry points of {@code libagentflan_nccl.so} ({@code trainer/src/main/native/nccl_shim.cc}), which loads
 * NCCL and the CUDA driver with dlopen at run time. Buffers are direct buffers over CUDA memory (the shim only takes
 * their address); every collective is in place and waits, bounded by the timeout, until the GPU has run it.
 */
final class NcclNative {
    static final String LIBRARY = "agentflan_nccl";
    static final String INSTALL_SHIM = "install a C++ compiler (apt-get install g++)";

    private NcclNative() {}

    /** Loads NCCL from {@code ncclPath} (a name dlopen searches, or a path) and libcuda.so.1; returns NCCL's version. */
    static native String open(String ncclPath);

    /** Rank 0's {@code ncclGetUniqueId}: 128 bytes the other ranks receive through the store. */
    static native byte[] uniqueId();

    /** {@code ncclCommInitRank} on CUDA device {@code device}, bounded by the timeout; returns the communicator's handle. */
    static native long connect(byte[] uniqueId, int rank, int size, int device, long timeoutMs);

    static native void allReduce(long comm, ByteBuffer buffer, int type, long timeoutMs);

    static native void reduceScatter(long comm, ByteBuffer buffer, int type, long timeoutMs);

    static native void allGather(long comm, ByteBuffer buffer, int type, long timeoutMs);

    static native void broadcast(long comm, ByteBuffer buffer, int type, int root, long timeoutMs);

    static native void close(long comm, long timeoutMs);
}
