package org.agentflan.trainer.distributed;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The key-value store at {@code MASTER_ADDR:MASTER_PORT}, as torchrun's: rank 0 serves it ({@link TcpStoreServer})
 * and every rank, rank 0 included, is a client over one TCP connection. Requests are serialised on that connection;
 * blocking reads wait on the server, and the socket's read timeout (the request's timeout plus a grace) catches a
 * server that died mid-request.
 */
public final class TcpStore implements KeyValueStore {
    /** Slack on top of a request's own timeout before the client gives up on a silent server. */
    private static final Duration GRACE = Duration.ofSeconds(10);
    private static final Duration RETRY = Duration.ofMillis(200);

    private final String host;
    private final int port;
    private final Duration timeout;
    private final TcpStoreServer server; // rank 0 only
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    private TcpStore(String host, int port, Duration timeout, TcpStoreServer server, Socket socket) throws IOException {
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.server = server;
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    }

    /**
     * Rank 0 starts the server on {@code port}, then every rank connects, retrying until {@code timeout}: the other
     * ranks may start before rank 0 listens. A rank that cannot connect in time fails naming the address and the wait.
     * {@code timeout} also bounds set/add and how long rank 0's {@link #close} waits for the others to leave.
     */
    public static TcpStore open(String host, int port, int rank, Duration timeout) {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new DistributedException("MASTER_PORT must be 1-65535, got " + port);
        }
        TcpStoreServer server = rank == 0 ? TcpStoreServer.start(host, port) : null;
        try {
            return new TcpStore(host, port, timeout, server, connect(host, port, rank, timeout));
        } catch (IOException | RuntimeException e) {
            if (server != null) {
                server.close();
            }
            throw e instanceof DistributedException d ? d
                    : new DistributedException("rank " + rank + ": TCP store at " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    private static Socket connect(String host, int port, int rank, Duration timeout) throws IOException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        String last = "no attempt";
        while (true) {
            Socket socket = new Socket();
            try {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                socket.connect(new InetSocketAddress(host, port), (int) Math.min(left, 5_000));
                socket.setTcpNoDelay(true);
                socket.setSoTimeout((int) GRACE.toMillis());
                DataOutputStream hello = new DataOutputStream(socket.getOutputStream());
                hello.writeInt(TcpStoreServer.MAGIC);
                hello.writeInt(TcpStoreServer.VERSION);
                hello.flush();
                int reply;
                try {
                    reply = new DataInputStream(socket.getInputStream()).readInt();
                } catch (IOException e) {
                    reply = 0;
                }
                if (reply != TcpStoreServer.MAGIC) {
                    socket.close();
                    throw new DistributedException("rank " + rank + ": " + host + ":" + port
                            + " answered, but not as an agentflan TCP store (is MASTER_PORT taken by another program?)");
                }
                return socket;
            } catch (IOException e) {
                socket.close();
                last = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            if (System.nanoTime() >= deadline) {
                throw new DistributedException(String.format(
                        "rank %d cannot reach the TCP store at %s:%d (served by rank 0) after waiting %.1f s (last error: %s);"
                                + " check MASTER_ADDR/MASTER_PORT and that rank 0 is running",
                        rank, host, port, (System.nanoTime() - start) / 1e9, last));
            }
            try {
                Thread.sleep(RETRY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DistributedException("interrupted while connecting to the TCP store at " + host + ":" + port);
            }
        }
    }

    @Override
    public synchronized void set(String key, byte[] value) {
        request("set " + key, timeout, () -> {
            out.writeByte(TcpStoreServer.SET);
            out.writeUTF(key);
            out.writeInt(value.length);
            out.write(value);
            out.flush();
            expectOk();
            return null;
        });
    }

    @Override
    public synchronized byte[] get(String key, Duration wait) {
        return request("get " + key, wait, () -> {
            out.writeByte(TcpStoreServer.GET);
            out.writeUTF(key);
            out.writeLong(wait.toMillis());
            out.flush();
            if (in.readByte() == TcpStoreServer.TIMED_OUT) {
                throw new DistributedException(String.format("key %s did not appear in the %s within %.1f s", key, describe(), wait.toMillis() / 1e3));
            }
            byte[] value = new byte[in.readInt()];
            in.readFully(value);
            return value;
        });
    }

    @Override
    public synchronized List<String> missing(List<String> keys, Duration wait) {
        return request("wait for " + keys.size() + " keys", wait, () -> {
            out.writeByte(TcpStoreServer.MISSING);
            out.writeInt(keys.size());
            for (String key : keys) {
                out.writeUTF(key);
            }
            out.writeLong(wait.toMillis());
            out.flush();
            int n = in.readInt();
            List<String> missing = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                missing.add(in.readUTF());
            }
            return missing;
        });
    }

    @Override
    public synchronized long add(String key, long delta) {
        return request("add " + key, timeout, () -> {
            out.writeByte(TcpStoreServer.ADD);
            out.writeUTF(key);
            out.writeLong(delta);
            out.flush();
            return in.readLong();
        });
    }

    @Override
    public String describe() {
        return "TCP store at " + host + ":" + port + " (served by rank 0)";
    }

    /** Rank 0 closes its connection, then keeps serving until the other ranks have left (or the timeout passes). */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to say to the server
        }
        if (server != null) {
            try {
                server.awaitClientsGone(timeout);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                server.close();
            }
        }
    }

    private interface Exchange<T> {
        T run() throws IOException;
    }

    private <T> T request(String what, Duration wait, Exchange<T> exchange) {
        try {
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, wait.plus(GRACE).toMillis()));
            return exchange.run();
        } catch (SocketTimeoutException e) {
            throw new DistributedException(String.format("%s: the %s did not answer within %.1f s (rank 0 hangs?)",
                    what, describe(), wait.plus(GRACE).toMillis() / 1e3), e);
        } catch (IOException e) {
            throw new DistributedException(what + ": lost the connection to the " + describe()
                    + " (rank 0 has exited or was killed): " + (e instanceof java.io.EOFException ? "connection closed" : e.getMessage()), e);
        }
    }

    private void expectOk() throws IOException {
        if (in.readByte() != TcpStoreServer.OK) {
            throw new IOException("unexpected reply");
        }
    }
}
