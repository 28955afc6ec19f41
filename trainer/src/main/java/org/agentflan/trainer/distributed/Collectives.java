package org.agentflan.trainer.distributed;

import ai.djl.ndarray.NDArray;

/**
 * Collective operations among the ranks of one job, in place on tensor memory, every call bounded by the timeout the
 * implementation was opened with (on expiry or a lost peer it throws {@link DistributedException} naming the
 * operation, this rank and the lost rank). All ranks must call the same operations in the same order with buffers of
 * the same size. After a failure the instance refuses every further call: the job must stop.
 *
 * <p>Implementations: {@link GlooCollectives} (CPU memory, Gloo over TCP), {@link NcclCollectives} (CUDA memory) and
 * {@link SingleRankCollectives} (world size 1, no native code). {@link #open} builds the right one after the
 * {@link Rendezvous}.
 */
public interface Collectives extends AutoCloseable {
    int rank();

    int worldSize();

    /** Every rank's buffer becomes the element-wise sum of all ranks' buffers. */
    void allReduce(CollectiveBuffer buffer);

    /**
     * The buffer is {@code worldSize} equal slices; afterwards slice {@code rank} holds the sum of every rank's slice
     * {@code rank} (the layout of NCCL's in-place reduce-scatter). The other slices' contents are undefined.
     */
    void reduceScatter(CollectiveBuffer buffer);

    /** The buffer is {@code worldSize} equal slices; afterwards every slice {@code r} holds rank {@code r}'s slice {@code r}. */
    void allGather(CollectiveBuffer buffer);

    /** Every rank's buffer becomes rank {@code root}'s. */
    void broadcast(CollectiveBuffer buffer, int root);

    /** Returns once every rank has called it. */
    void barrier();

    /** Releases the connections; peers that call a collective afterwards fail naming this rank as closed. */
    @Override
    void close();

    default void allReduce(NDArray array) {
        allReduce(CollectiveBuffer.of(array));
    }

    default void reduceScatter(NDArray array) {
        reduceScatter(CollectiveBuffer.of(array));
    }

    default void allGather(NDArray array) {
        allGather(CollectiveBuffer.of(array));
    }

    default void broadcast(NDArray array, int root) {
        broadcast(CollectiveBuffer.of(array), root);
    }

    /** Which engine runs the collectives. */
    enum Backend {
        /** CPU tensors, Gloo's TCP transport. */
        GLOO,
        /** CUDA tensors, NCCL. */
        NCCL
    }

    /**
     * Joins the job: the {@link Rendezvous} (same world size and config hash everywhere), heartbeats, then the
     * backend's connections. World size 1 gives {@link SingleRankCollectives} and touches neither the store nor any
     * native library, so a single-process run needs neither Gloo nor NCCL.
     */
    static Collectives open(Backend backend, KeyValueStore store, int rank, int worldSize, String configHash,
                            CollectiveOptions options) {
        if (worldSize == 1 && rank == 0) {
            return new SingleRankCollectives();
        }
        Rendezvous.join(store, rank, worldSize, configHash, options.timeout());
        PeerLiveness liveness = new PeerLiveness(store, rank, worldSize);
        try {
            return switch (backend) {
                case GLOO -> GlooCollectives.connect(store, rank, worldSize, options, liveness);
                case NCCL -> NcclCollectives.connect(store, rank, worldSize, options, liveness);
            };
        } catch (RuntimeException e) {
            liveness.close();
            throw e;
        }
    }
}
