package org.agentflan.trainer;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.distributed.CollectiveOptions;
import org.agentflan.trainer.distributed.Collectives;
import org.agentflan.trainer.distributed.DistributedException;
import org.agentflan.trainer.distributed.GlooCollectives;
import org.agentflan.trainer.distributed.KeyValueStore;
import org.agentflan.trainer.distributed.RankAssignment;
import org.agentflan.trainer.distributed.SingleRankCollectives;

/**
 * The ranks of a data-parallel job as the training loop sees them: which rank this process is, the collectives among
 * the ranks, and the few agreements the loop needs besides the gradients ({@link GradientReducer}): sums of a step's
 * statistics, a common decision to stop, a barrier behind each checkpoint. One process is a job of one rank
 * ({@link SingleRankCollectives}), so the loop has one code path; with one rank every method returns its input
 * unchanged at once. Every collective is timed, so that each step can report the time it spent communicating.
 * Rank 0 is the leader: it alone writes the run folder.
 */
final class DataParallel implements AutoCloseable {
    private final RankAssignment ranks;
    private final KeyValueStore store;
    private final Collectives collectives;
    /** Small arrays for the sums, on the training device: NCCL reduces device memory only. */
    private final NDManager scratch;
    private long collectiveNanos;

    private DataParallel(RankAssignment ranks, KeyValueStore store, Collectives collectives, Device device) {
        this.ranks = ranks;
        this.store = store;
        this.collectives = collectives;
        this.scratch = NDManager.newBaseManager(device);
    }

    /**
     * Joins the job: rank 0 serves the store, every rank meets there with the hash of its resolved config (ranks
     * started with other configs refuse), then the collectives connect: Gloo for CPU tensors, NCCL for CUDA ones.
     * One rank joins nothing.
     */
    static DataParallel join(RankAssignment ranks, Device device, String configHash, Duration timeout, PrintStream console) {
        if (ranks.isSingle()) {
            return new DataParallel(ranks, null, new SingleRankCollectives(), device);
        }
        Collectives.Backend backend = device.isGpu() ? Collectives.Backend.NCCL : Collectives.Backend.GLOO;
        if (backend == Collectives.Backend.GLOO && GlooCollectives.unavailableReason() != null) {
            throw new DistributedException(ranks.describe() + ": cannot train on several CPU processes: "
                    + GlooCollectives.unavailableReason());
        }
        console.println("distributed: " + ranks.describe() + "; " + backend.name().toLowerCase(java.util.Locale.ROOT)
                + " on " + device + ", waiting for the other ranks");
        KeyValueStore store = ranks.openStore(timeout);
        try {
            CollectiveOptions options = new CollectiveOptions(timeout, ranks.isLoopback() ? "127.0.0.1" : null,
                    ranks.isLoopback() ? null : System.getenv("GLOO_SOCKET_IFNAME"), device.isGpu() ? device.getDeviceId() : 0);
            Collectives collectives = Collectives.open(backend, store, ranks.rank(), ranks.worldSize(), configHash, options);
            console.println("distributed: all " + ranks.worldSize() + " ranks joined with the same config");
            return new DataParallel(ranks, store, collectives, device);
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    int rank() {
        return ranks.rank();
    }

    int worldSize() {
        return ranks.worldSize();
    }

    /** Rank 0: the one rank that writes checkpoints, metrics, plots and the run record. */
    boolean isLeader() {
        return ranks.rank() == 0;
    }

    /** Sums {@code array} over all ranks, in place. */
    void allReduce(NDArray array) {
        long start = System.nanoTime();
        collectives.allReduce(array);
        collectiveNanos += System.nanoTime() - start;
    }

    /** {@link Collectives#reduceScatter}: slice {@code rank} of {@code array} becomes the sum of every rank's slice. */
    void reduceScatter(NDArray array) {
        long start = System.nanoTime();
        collectives.reduceScatter(array);
        collectiveNanos += System.nanoTime() - start;
    }

    /** {@link Collectives#allGather}: every slice {@code r} of {@code array} becomes rank {@code r}'s slice {@code r}. */
    void allGather(NDArray array) {
        long start = System.nanoTime();
        collectives.allGather(array);
        collectiveNanos += System.nanoTime() - start;
    }

    /**
     * The element-wise sum over ranks of a few numbers (loss sums, token counts, flags). They travel as float32, exact
     * for whole numbers below 2^24 and to 7 digits otherwise; with one rank they come back untouched.
     */
    double[] sum(double... local) {
        if (worldSize() == 1) {
            return local.clone();
        }
        float[] values = new float[local.length];
        for (int i = 0; i < local.length; i++) {
            values[i] = (float) local[i];
        }
        try (NDManager scope = scratch.newSubManager()) {
            NDArray array = scope.create(values);
            allReduce(array);
            float[] summed = array.toFloatArray();
            double[] out = new double[summed.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = summed[i];
            }
            return out;
        }
    }

    /**
     * Every rank's {@code values}, in rank order. Each value travels as four 16-bit pieces in float32, so any long
     * arrives exactly.
     */
    List<long[]> gather(long[] values) {
        if (worldSize() == 1) {
            return List.of(values.clone());
        }
        int pieces = values.length * 4;
        float[] all = new float[pieces * worldSize()];
        for (int i = 0; i < values.length; i++) {
            for (int p = 0; p < 4; p++) {
                all[rank() * pieces + i * 4 + p] = (values[i] >>> (16 * p)) & 0xffff;
            }
        }
        float[] gathered;
        try (NDManager scope = scratch.newSubManager()) {
            NDArray array = scope.create(all);
            long start = System.nanoTime();
            collectives.allGather(array);
            collectiveNanos += System.nanoTime() - start;
            gathered = array.toFloatArray();
        }
        List<long[]> out = new ArrayList<>();
        for (int r = 0; r < worldSize(); r++) {
            long[] theirs = new long[values.length];
            for (int i = 0; i < values.length; i++) {
                for (int p = 0; p < 4; p++) {
                    theirs[i] |= ((long) gathered[r * pieces + i * 4 + p]) << (16 * p);
                }
            }
            out.add(theirs);
        }
        return out;
    }

    /**
     * Whether and why the job stops after this step: a signal that any rank received (the first of
     * {@link StopSignals#NAMES}), else {@code --stop-at-step} if any rank reached it, else null. Every rank calls this
     * once per step at the same point, so all ranks stop after the same step, even when a signal reached only some
     * of them, or reached them on either side of a step's end.
     */
    StopReason agreeOnStop(String signalHere, boolean stopAtStepHere) {
        List<String> names = StopSignals.NAMES;
        double[] flags = new double[names.size() + 1];
        if (signalHere != null) {
            flags[names.indexOf(signalHere)] = 1;
        }
        flags[names.size()] = stopAtStepHere ? 1 : 0;
        double[] anyRank = sum(flags);
        for (int i = 0; i < names.size(); i++) {
            if (anyRank[i] > 0) {
                return StopReason.ofSignal(names.get(i));
            }
        }
        return anyRank[names.size()] > 0 ? StopReason.STOP_AT_STEP : null;
    }

    /** Returns once every rank has called it (after rank 0 wrote a checkpoint, say). */
    void barrier() {
        long start = System.nanoTime();
        collectives.barrier();
        collectiveNanos += System.nanoTime() - start;
    }

    /** Time spent in collectives so far, in seconds. */
    double collectiveSeconds() {
        return collectiveNanos / 1e9;
    }

    @Override
    public void close() {
        try {
            collectives.close();
        } finally {
            if (store != null) {
                store.close();
            }
            scratch.close();
        }
    }
}
