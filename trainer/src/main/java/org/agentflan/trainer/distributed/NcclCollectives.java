package org.agentflan.trainer.distributed;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Collectives on CUDA memory through NCCL, loaded at run time ({@code AGENTFLAN_NCCL_LIBRARY}, default
 * {@code libnccl.so.2} on the library path; NCCL 2.14 or newer). Rank 0's unique id travels through the store.
 * Buffers are DJL CUDA tensors viewed in place ({@link TensorViews}); the collectives run on PyTorch's stream and
 * each call returns once the GPU has run it (see {@code nccl_shim.cc} for the ordering). Float32, float16 and
 * bfloat16. NCCL has no barrier: {@link #barrier} all-reduces one float.
 *
 * <p>Not run in this repository's tests (no GPU where they run): they cover the library-missing error and the id
 * exchange; everything from {@code ncclCommInitRank} on has only been compiled.
 */
public final class NcclCollectives implements Collectives {
    static final String UNIQUE_ID_KEY = Rendezvous.PREFIX + "nccl/unique_id";
    static final int UNIQUE_ID_BYTES = 128;
    static final String INSTALL_NCCL = "install NCCL 2.14 or newer (NVIDIA's libnccl2 package, or pip's nvidia-nccl-cu12)"
            + " and put libnccl.so.2 on LD_LIBRARY_PATH, or set AGENTFLAN_NCCL_LIBRARY to its path";

    private final int rank;
    private final int worldSize;
    private final long timeoutMs;
    private final int device;
    private final PeerLiveness liveness;
    private final CallGuard guard;
    private final NDManager scratch;
    private final NDArray barrierValue;
    private long comm;

    private NcclCollectives(int rank, int worldSize, long timeoutMs, int device, PeerLiveness liveness, long comm) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeoutMs = timeoutMs;
        this.device = device;
        this.liveness = liveness;
        this.comm = comm;
        this.guard = new CallGuard("nccl", rank, worldSize, Duration.ofMillis(timeoutMs), liveness);
        this.scratch = NDManager.newBaseManager(Device.gpu(device));
        this.barrierValue = scratch.zeros(new Shape(1), DataType.FLOAT32);
    }

    static NcclCollectives connect(KeyValueStore store, int rank, int worldSize, CollectiveOptions options, PeerLiveness liveness) {
        loadNccl(libraryPath());
        byte[] id = shareUniqueId(store, rank, NcclNative::uniqueId, options.timeout());
        long timeoutMs = options.timeout().toMillis();
        long comm;
        try {
            comm = NcclNative.connect(id, rank, worldSize, options.cudaDevice(), timeoutMs);
        } catch (NativeCollectiveException e) {
            throw new DistributedException("rank " + rank + " cannot create its NCCL communicator on cuda:" + options.cudaDevice()
                    + ": " + e.getMessage() + " (" + liveness.diagnose() + ")", e);
        }
        return new NcclCollectives(rank, worldSize, timeoutMs, options.cudaDevice(), liveness, comm);
    }

    /** Where NCCL is loaded from: {@code AGENTFLAN_NCCL_LIBRARY}, else {@code libnccl.so.2} on the library path. */
    static String libraryPath() {
        return System.getenv().getOrDefault("AGENTFLAN_NCCL_LIBRARY", "libnccl.so.2");
    }

    /** Loads the shim, NCCL and the CUDA driver; returns NCCL's version or fails saying what to install. */
    static String loadNccl(String path) {
        NativeLibrary.load(NcclNative.LIBRARY, NcclNative.INSTALL_SHIM);
        String version;
        try {
            version = NcclNative.open(path);
        } catch (NativeCollectiveException e) {
            throw new DistributedException(e.getMessage() + "; " + INSTALL_NCCL, e);
        }
        String[] parts = version.split("\\.");
        if (Integer.parseInt(parts[0]) < 2 || (Integer.parseInt(parts[0]) == 2 && Integer.parseInt(parts[1]) < 14)) {
            throw new DistributedException("NCCL " + version + " at " + path + " is too old: agentflan needs 2.14 or newer"
                    + " (non-blocking communicators bound every call by the timeout); " + INSTALL_NCCL);
        }
        return version;
    }

    /** Rank 0 creates NCCL's unique id and publishes it; the other ranks wait for it (up to {@code timeout}). */
    static byte[] shareUniqueId(KeyValueStore store, int rank, Supplier<byte[]> create, Duration timeout) {
        byte[] id;
        if (rank == 0) {
            id = create.get();
            store.set(UNIQUE_ID_KEY, id);
        } else {
            id = store.get(UNIQUE_ID_KEY, timeout);
        }
        if (id.length != UNIQUE_ID_BYTES) {
            throw new DistributedException("NCCL unique id in the " + store.describe() + " has " + id.length + " bytes, expected "
                    + UNIQUE_ID_BYTES);
        }
        return id;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    @Override
    public void allReduce(CollectiveBuffer buffer) {
        check(buffer);
        guard.run("allReduce", buffer, () -> NcclNative.allReduce(comm, buffer.memory(), buffer.type().code(), timeoutMs));
    }

    @Override
    public void reduceScatter(CollectiveBuffer buffer) {
        check(buffer);
        requireSlices(buffer, "reduceScatter");
        guard.run("reduceScatter", buffer, () -> NcclNative.reduceScatter(comm, buffer.memory(), buffer.type().code(), timeoutMs));
    }

    @Override
    public void allGather(CollectiveBuffer buffer) {
        check(buffer);
        requireSlices(buffer, "allGather");
        guard.run("allGather", buffer, () -> NcclNative.allGather(comm, buffer.memory(), buffer.type().code(), timeoutMs));
    }

    @Override
    public void broadcast(CollectiveBuffer buffer, int root) {
        check(buffer);
        if (root < 0 || root >= worldSize) {
            throw new DistributedException("broadcast from rank " + root + " in a world of " + worldSize + " ranks");
        }
        guard.run("broadcast from rank " + root, buffer,
                () -> NcclNative.broadcast(comm, buffer.memory(), buffer.type().code(), root, timeoutMs));
    }

    @Override
    public void barrier() {
        allReduce(barrierValue);
    }

    @Override
    public synchronized void close() {
        if (comm != 0) {
            try {
                NcclNative.close(comm, timeoutMs);
            } catch (NativeCollectiveException e) {
                throw new DistributedException("rank " + rank + " could not close its NCCL communicator: " + e.getMessage(), e);
            } finally {
                comm = 0;
                scratch.close();
                liveness.close();
            }
        }
    }

    private void check(CollectiveBuffer buffer) {
        if (comm == 0) {
            throw new DistributedException("NCCL collectives of rank " + rank + " are closed");
        }
        requireOnDevice(buffer, device);
    }

    /** NCCL reads device memory of this rank's GPU only. */
    static void requireOnDevice(CollectiveBuffer buffer, int device) {
        if (buffer.cudaDevice() != device) {
            throw new DistributedException("NCCL on cuda:" + device + " needs tensors on that device; this buffer holds "
                    + buffer.describe() + " (move it with toDevice, or use the gloo backend for CPU tensors)");
        }
    }

    private void requireSlices(CollectiveBuffer buffer, String op) {
        if (buffer.elements() % worldSize != 0) {
            throw new DistributedException(op + " needs a buffer of world size x slice elements; " + buffer.elements()
                    + " elements do not split into " + worldSize + " slices");
        }
    }
}
