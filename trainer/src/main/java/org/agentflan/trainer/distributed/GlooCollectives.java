package org.agentflan.trainer.distributed;


/**
 * Collectives on CPU memory through Gloo 0.5 (Debian's {@code libgloo-dev}, the library behind PyTorch's CPU backend),
 * over its TCP transport: allreduce, allgather, broadcast and barrier with a per-call timeout; reduce-scatter is an
 * allreduce (see {@link #reduceScatter} for why not Gloo's own). Float32 and float16; bfloat16 is
 * refused (Gloo 0.5 has no bfloat16 sum, and DJL's CPU engine crashes on bfloat16 tensors anyway).
 */
public final class GlooCollectives implements Collectives {
    private final int rank;
    private final int worldSize;
    private final long timeoutMs;
    private final PeerLiveness liveness;
    private final CallGuard guard;
    private long context;

    private GlooCollectives(int rank, int worldSize, long timeoutMs, PeerLiveness liveness, long context) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.timeoutMs = timeoutMs;
        this.liveness = liveness;
        this.context = context;
        this.guard = new CallGuard("gloo", rank, worldSize, java.time.Duration.ofMillis(timeoutMs), liveness);
    }

    /** Whether this build carries the Gloo shim; when it does not, the reason and what to install. */
    public static String unavailableReason() {
        return NativeLibrary.packaged(GlooNative.LIBRARY) ? null
                : "this build has no Gloo shim (g++ or libgloo-dev was missing at build time): " + GlooNative.INSTALL;
    }

    static GlooCollectives connect(KeyValueStore store, int rank, int worldSize, CollectiveOptions options, PeerLiveness liveness) {
        NativeLibrary.load(GlooNative.LIBRARY, GlooNative.INSTALL);
        long timeoutMs = options.timeout().toMillis();
        long context;
        try {
            context = GlooNative.connect(rank, worldSize, options.glooHostname(), options.glooInterface(), timeoutMs,
                    new StoreBridge(store, Rendezvous.PREFIX + "gloo/", options.timeout()));
        } catch (NativeCollectiveException e) {
            throw new DistributedException("rank " + rank + " cannot connect Gloo to the other ranks: " + e.getMessage()
                    + " (" + liveness.diagnose() + ")", e);
        } catch (DistributedException e) {
            throw new DistributedException("rank " + rank + " cannot connect Gloo to the other ranks: " + e.getMessage(), e);
        }
        return new GlooCollectives(rank, worldSize, timeoutMs, liveness, context);
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
        int tag = guard.nextTag();
        guard.run("allReduce", buffer, () -> GlooNative.allReduce(context, buffer.memory(), buffer.type().code(), tag, timeoutMs));
    }

    @Override
    public void reduceScatter(CollectiveBuffer buffer) {
        check(buffer);
        sliceElements(buffer, "reduceScatter");
        // An all-reduce sums every slice, so slice `rank` holds its sum as the contract asks, at twice a
        // reduce-scatter's traffic. Gloo's ReduceScatterHalvingDoubling is not safe in place: on a rank other than 0
        // its distribution phase copies the rank's result over the start of the buffer while its asynchronous send
        // of that region to rank 0 may still be reading it (it waits for the peers' notifications only afterwards),
        // so rank 0 intermittently summed some of rank 1's results instead of its gradients (ZeRO-1 runs on a loaded
        // 2-core machine: per-element differences in rank 0's slice, not reproducible run to run). It was also
        // 1.3-2.4 s for 16 MiB where the all-reduce takes 0.05-0.4 s.
        int tag = guard.nextTag();
        guard.run("reduceScatter", buffer, () -> GlooNative.allReduce(context, buffer.memory(), buffer.type().code(), tag, timeoutMs));
    }

    @Override
    public void allGather(CollectiveBuffer buffer) {
        check(buffer);
        sliceElements(buffer, "allGather");
        int tag = guard.nextTag();
        guard.run("allGather", buffer, () -> GlooNative.allGather(context, buffer.memory(), buffer.type().code(), tag, timeoutMs));
    }

    @Override
    public void broadcast(CollectiveBuffer buffer, int root) {
        check(buffer);
        if (root < 0 || root >= worldSize) {
            throw new DistributedException("broadcast from rank " + root + " in a world of " + worldSize + " ranks");
        }
        int tag = guard.nextTag();
        guard.run("broadcast from rank " + root, buffer,
                () -> GlooNative.broadcast(context, buffer.memory(), buffer.type().code(), root, tag, timeoutMs));
    }

    @Override
    public void barrier() {
        requireOpen();
        int tag = guard.nextTag();
        guard.run("barrier", null, () -> GlooNative.barrier(context, tag, timeoutMs));
    }

    @Override
    public synchronized void close() {
        if (context != 0) {
            GlooNative.close(context);
            context = 0;
            liveness.close();
        }
    }

    private void check(CollectiveBuffer buffer) {
        requireOpen();
        if (buffer.onCuda()) {
            throw new DistributedException("Gloo works on CPU memory; this buffer is on cuda:" + buffer.cudaDevice() + " (use the nccl backend)");
        }
        if (buffer.type() == ElementType.BFLOAT16) {
            throw new DistributedException("Gloo 0.5 has no bfloat16 sum; reduce float32 (or float16) buffers on the CPU");
        }
    }

    private int sliceElements(CollectiveBuffer buffer, String op) {
        if (buffer.elements() % worldSize != 0) {
            throw new DistributedException(op + " needs a buffer of world size x slice elements; " + buffer.elements()
                    + " elements do not split into " + worldSize + " slices");
        }
        return buffer.elements() / worldSize;
    }

    private void requireOpen() {
        if (context == 0) {
            throw new DistributedException("Gloo collectives of rank " + rank + " are closed");
        }
    }
}
