package org.agentflan.trainer.distributed;

/**
 * Whether this process can use each collectives backend, found by loading it exactly as a multi-rank start would
 * ({@code agentflan env} reports these): the Gloo shim for CPU ranks, the NCCL shim with NCCL and the CUDA driver for
 * GPU ranks.
 */
public final class NativeBackends {
    /**
     * @param usable whether the backend loaded
     * @param detail what loaded (with NCCL's version), or why it did not
     * @param install what to install when it did not; null when usable
     */
    public record Status(boolean usable, String detail, String install) {}

    private NativeBackends() {}

    public static Status gloo() {
        String install = "apt-get install libgloo-dev g++, then rebuild agentflan (mvn package): the build compiles the"
                + " Gloo shim only where both are present";
        if (!NativeLibrary.packaged(GlooNative.LIBRARY)) {
            return new Status(false, "this build has no Gloo shim (g++ or libgloo-dev was missing when it was built)", install);
        }
        try {
            NativeLibrary.load(GlooNative.LIBRARY, GlooNative.INSTALL);
            return new Status(true, "lib" + GlooNative.LIBRARY + ".so loaded, with Debian's libgloo.so.0", null);
        } catch (DistributedException | UnsatisfiedLinkError e) {
            return new Status(false, e.getMessage(), install);
        }
    }

    public static Status nccl() {
        String path = NcclCollectives.libraryPath();
        try {
            String version = NcclCollectives.loadNccl(path);
            return new Status(true, "NCCL " + version + " from " + path + ", with the CUDA driver (libcuda.so.1)", null);
        } catch (DistributedException | UnsatisfiedLinkError e) {
            return new Status(false, e.getMessage().replace("; " + NcclCollectives.INSTALL_NCCL, ""), NcclCollectives.INSTALL_NCCL + "; the CUDA driver (libcuda.so.1) comes"
                    + " with NVIDIA's driver");
        }
    }
}
