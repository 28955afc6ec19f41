package org.agentflan.trainer.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One rank of the multi-process collective tests, in its own JVM:
 * {@code <mode> <store> <rank> <world> <config-hash> <timeout-seconds>}, where store is {@code tcp:HOST:PORT} or
 * {@code file:DIR} and mode is
 * <ul>
 *   <li>{@code ops}: every collective on DJL tensors with sums it checks itself, one "ok NAME" line each;</li>
 *   <li>{@code loop}: all-reduces a 1M-float tensor until something fails, printing "iteration N" lines;</li>
 *   <li>{@code join}: the rendezvous only;</li>
 *   <li>{@code stall}: rank 0 all-reduces once; the other ranks never call it, and exit after three timeouts.</li>
 * </ul>
 * A {@link DistributedException} prints "FAILED: message" and exits 3.
 */
public final class CollectivesChildMain {
    private CollectivesChildMain() {}

    public static void main(String[] args) {
        String mode = args[0];
        int rank = Integer.parseInt(args[2]);
        int world = Integer.parseInt(args[3]);
        Duration timeout = Duration.ofSeconds(Long.parseLong(args[5]));
        // libtorch first, as in the trainer: it carries its own Gloo, and the shim must still bind Debian's.
        ai.djl.engine.Engine.getInstance();
        try (KeyValueStore store = openStore(args[1], rank, timeout);
             Collectives collectives = Collectives.open(Collectives.Backend.GLOO, store, rank, world, args[4],
                     CollectiveOptions.loopback(timeout))) {
            switch (mode) {
                case "ops" -> ops(collectives);
                case "loop" -> loop(collectives);
                case "join" -> System.out.println("ok join");
                case "stall" -> stall(collectives, timeout);
                default -> throw new IllegalArgumentException("mode " + mode);
            }
        } catch (DistributedException e) {
            System.out.println("FAILED: " + e.getMessage());
            System.out.flush();
            System.exit(3);
        }
        System.out.flush();
        System.exit(0);
    }

    static KeyValueStore openStore(String spec, int rank, Duration timeout) {
        if (spec.startsWith("tcp:")) {
            String[] hostPort = spec.substring(4).split(":");
            return TcpStore.open(hostPort[0], Integer.parseInt(hostPort[1]), rank, timeout);
        }
        return FileStore.open(Path.of(spec.substring(5)));
    }

    private static void ops(Collectives c) {
        int r = c.rank();
        int w = c.worldSize();
        long ranksSum = (long) w * (w + 1) / 2; // sum over ranks of (rank + 1)
        try (NDManager m = NDManager.newBaseManager()) {
            // allReduce float32 on a 2-D tensor: (rank + 1) * i sums to ranksSum * i, exact in float32 below 2^24.
            NDArray a = m.arange(0f, 1_000_000f).reshape(1000, 1000).mul(r + 1);
            c.allReduce(a);
            check("allReduce float32", a.toFloatArray(), i -> ranksSum * i);

            NDArray h = m.ones(new Shape(4097), DataType.FLOAT16).mul(r + 1);
            c.allReduce(h);
            check("allReduce float16", h.toType(DataType.FLOAT32, false).toFloatArray(), i -> ranksSum);

            // reduceScatter: element i of rank q holds i + 1000 q; slice r of the result holds sum over q.
            int k = 1001;
            NDArray rs = m.arange(0f, (float) (w * k)).add(1000f * r);
            c.reduceScatter(rs);
            float[] got = rs.toFloatArray();
            float[] slice = new float[k];
            System.arraycopy(got, r * k, slice, 0, k);
            check("reduceScatter", slice, i -> (double) w * (r * k + i) + 1000.0 * w * (w - 1) / 2);

            // allGather: rank q owns slice q = q + 1; the rest starts as -1.
            NDArray ag = m.full(new Shape(w * k), -1f);
            ag.set(new ai.djl.ndarray.index.NDIndex(r * k + ":" + (r + 1) * k), r + 1f);
            c.allGather(ag);
            check("allGather", ag.toFloatArray(), i -> i / k + 1);

            // broadcast from the last rank: its arange replaces everyone's zeros.
            int root = w - 1;
            NDArray b = r == root ? m.arange(0f, 5000f) : m.zeros(new Shape(5000));
            c.broadcast(b, root);
            check("broadcast", b.toFloatArray(), i -> i);

            // A direct buffer the caller allocated (not a tensor).
            ByteBuffer direct = ByteBuffer.allocateDirect(4 * 3000).order(ByteOrder.nativeOrder());
            for (int i = 0; i < 3000; i++) {
                direct.putFloat(4 * i, (r + 1) * 0.5f);
            }
            c.allReduce(CollectiveBuffer.host(direct, ElementType.FLOAT32));
            float[] d = new float[3000];
            direct.asFloatBuffer().get(d);
            check("allReduce direct buffer", d, i -> ranksSum * 0.5);

            c.barrier();
            System.out.println("ok barrier");
        }
    }

    private interface Expected {
        double at(int i);
    }

    private static void check(String name, float[] got, Expected expected) {
        for (int i = 0; i < got.length; i++) {
            if (got[i] != (float) expected.at(i)) {
                System.out.println("MISMATCH " + name + " at " + i + ": got " + got[i] + ", expected " + (float) expected.at(i));
                System.out.flush();
                System.exit(5);
            }
        }
        System.out.println("ok " + name);
    }

    private static void stall(Collectives c, Duration timeout) {
        if (c.rank() == 0) {
            try (NDManager m = NDManager.newBaseManager()) {
                c.allReduce(m.ones(new Shape(1000)));
            }
        } else {
            try {
                Thread.sleep(timeout.multipliedBy(3).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void loop(Collectives c) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.ones(new Shape(1 << 20));
            for (long n = 1; ; n++) {
                c.allReduce(a);
                a.divi(c.worldSize());
                if (n % 20 == 0) {
                    System.out.println("iteration " + n);
                    System.out.flush();
                }
            }
        }
    }
}
