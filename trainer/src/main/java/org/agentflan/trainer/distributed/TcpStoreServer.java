package org.agentflan.trainer.distributed;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The server half of {@link TcpStore}, run by rank 0 (as torchrun's TCPStore master): a map of keys to bytes behind
 * one lock, a daemon thread per connected rank, and blocking reads that wait on the lock up to the client's timeout.
 * Gloo 0.5 has no TCP store, so agentflan brings this one; its wire protocol is private to agentflan (both halves
 * are here).
 */
final class TcpStoreServer implements AutoCloseable {
    static final int MAGIC = 0x4146_4b56; // "AFKV"
    static final int VERSION = 1;
    static final byte SET = 1;
    static final byte GET = 2;
    static final byte MISSING = 3;
    static final byte ADD = 4;
    static final byte OK = 0;
    static final byte TIMED_OUT = 1;
    /** Values are addresses, ids and hashes; anything larger is a client that does not speak this protocol. */
    static final int MAX_VALUE_BYTES = 16 << 20;

    private final ServerSocket server;
    private final Map<String, byte[]> values = new HashMap<>();
    private final Set<Socket> connections = new HashSet<>();
    private volatile boolean closed;

    private TcpStoreServer(ServerSocket server) {
        this.server = server;
        Thread acceptor = new Thread(this::acceptLoop, "agentflan-store-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * Serves on {@code port}: on the loopback address when {@code host} resolves to one (a local job stays local),
     * otherwise on every interface, so that other nodes reach it under whatever name MASTER_ADDR gives.
     */
    static TcpStoreServer start(String host, int port) {
        ServerSocket socket = null;
        try {
            InetAddress address = InetAddress.getByName(host);
            socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(address.isLoopbackAddress() ? new InetSocketAddress(address, port) : new InetSocketAddress(port), 1024);
            return new TcpStoreServer(socket);
        } catch (IOException e) {
            closeQuietly(socket);
            throw new DistributedException("rank 0 cannot serve the TCP store on " + host + ":" + port + ": " + e.getMessage()
                    + " (is the port taken by another job? choose another MASTER_PORT)", e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** Waits until every client has disconnected or {@code timeout} passes, so that ranks finishing late still reach the store. */
    synchronized void awaitClientsGone(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!connections.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        List<Socket> open;
        synchronized (this) {
            open = new ArrayList<>(connections);
            notifyAll();
        }
        open.forEach(TcpStoreServer::closeQuietly);
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            synchronized (this) {
                connections.add(socket);
            }
            Thread handler = new Thread(() -> serve(socket), "agentflan-store-" + socket.getRemoteSocketAddress());
            handler.setDaemon(true);
            handler.start();
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                return; // not an agentflan client of this version: drop it
            }
            out.writeInt(MAGIC);
            out.flush();
            while (!closed) {
                byte op;
                try {
                    op = in.readByte();
                } catch (EOFException e) {
                    return;
                }
                switch (op) {
                    case SET -> {
                        String key = in.readUTF();
                        put(key, readValue(in));
                        out.writeByte(OK);
                    }
                    case GET -> {
                        String key = in.readUTF();
                        byte[] value = await(key, in.readLong());
                        if (closed) {
                            return; // shutting down: the client must see a lost connection, not a timed-out key
                        }
                        if (value == null) {
                            out.writeByte(TIMED_OUT);
                        } else {
                            out.writeByte(OK);
                            out.writeInt(value.length);
                            out.write(value);
                        }
                    }
                    case MISSING -> {
                        int n = in.readInt();
                        List<String> keys = new ArrayList<>(n);
                        for (int i = 0; i < n; i++) {
                            keys.add(in.readUTF());
                        }
                        List<String> missing = awaitAll(keys, in.readLong());
                        if (closed) {
                            return; // as for GET: a lost connection, not a list of missing keys
                        }
                        out.writeInt(missing.size());
                        for (String key : missing) {
                            out.writeUTF(key);
                        }
                    }
                    case ADD -> {
                        String key = in.readUTF();
                        out.writeLong(add(key, in.readLong()));
                    }
                    default -> {
                        return; // protocol error: drop the connection, the client reports it
                    }
                }
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // The client went away (a rank exited or was killed); its keys stay.
        } finally {
            synchronized (this) {
                connections.remove(socket);
                notifyAll();
            }
        }
    }

    private static byte[] readValue(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > MAX_VALUE_BYTES) {
            throw new SocketException("value of " + length + " bytes");
        }
        byte[] value = new byte[length];
        in.readFully(value);
        return value;
    }

    private synchronized void put(String key, byte[] value) {
        values.put(key, value);
        notifyAll();
    }

    private synchronized long add(String key, long delta) {
        byte[] old = values.get(key);
        long value = (old == null ? 0 : Long.parseLong(new String(old, StandardCharsets.US_ASCII))) + delta;
        values.put(key, Long.toString(value).getBytes(StandardCharsets.US_ASCII));
        notifyAll();
        return value;
    }

    private synchronized byte[] await(String key, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (!values.containsKey(key) && !closed) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return values.get(key);
    }

    private synchronized List<String> awaitAll(List<String> keys, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (true) {
            List<String> missing = keys.stream().filter(k -> !values.containsKey(k)).toList();
            long left = deadline - System.nanoTime();
            if (missing.isEmpty() || left <= 0 || closed) {
                return missing;
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing on shutdown or after a failure: nothing more to report
            }
        }
    }
}
