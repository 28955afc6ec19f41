package org.agentflan.trainer.distributed;

import java.nio.ByteBuffer;

/**
 * The JNI entry points of {@code libagentflan_gloo.so} ({@code trainer/src/main/native/gloo_shim.cc}). Each forwards a
 * direct buffer (its whole capacity), an element-type code ({@link ElementType#code}), a tag and a timeout to the
 * Gloo call of the same name; failures come back as {@link NativeCollectiveException}.
 */
final class GlooNative {
    static final String LIBRARY = "agentflan_gloo";
    static final String INSTALL = "install Gloo and a C++ compiler (apt-get install libgloo-dev g++)";

    private GlooNative() {}

    /** Creates a TCP device and a context, and connects a pair to every other rank through {@code store}; returns its handle. */
    static native long connect(int rank, int size, String hostname, String iface, long timeoutMs, StoreBridge store);

    static native void allReduce(long context, ByteBuffer buffer, int type, int tag, long timeoutMs);

    static native void allGather(long context, ByteBuffer buffer, int type, int tag, long timeoutMs);

    static native void broadcast(long context, ByteBuffer buffer, int type, int root, int tag, long timeoutMs);

    static native void barrier(long context, int tag, long timeoutMs);

    static native void close(long context);
}
