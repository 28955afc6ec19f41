package org.agentflan.trainer.distributed;

/**
 * World size 1: every collective leaves the buffer as it is (the sum over one rank is itself), so the training loop
 * keeps one code path and single-process runs need no store and no native library.
 */
public final class SingleRankCollectives implements Collectives {
    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int worldSize() {
        return 1;
    }

    @Override
    public void allReduce(CollectiveBuffer buffer) {
        // one rank: the sum is the buffer itself
    }

    @Override
    public void reduceScatter(CollectiveBuffer buffer) {
        // one rank: its slice is the whole buffer, already summed
    }

    @Override
    public void allGather(CollectiveBuffer buffer) {
        // one rank: the whole buffer is its own slice
    }

    @Override
    public void broadcast(CollectiveBuffer buffer, int root) {
        if (root != 0) {
            throw new DistributedException("broadcast from rank " + root + " in a world of 1 rank");
        }
    }

    @Override
    public void barrier() {
        // nobody to wait for
    }

    @Override
    public void close() {
        // nothing held
    }
}
