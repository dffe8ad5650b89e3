package dev.adit.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scriptable upstream TCP server on {@code 127.0.0.1}, port 0: the "target" of a tunnel.
 *
 * <p>Blocking sockets, one thread per connection from a cached pool of daemon threads. What
 * each connection does is the {@link Behaviour} chosen at construction ({@link #echo()},
 * {@link #sendThenEcho(byte[])}, {@link #resetAfter(int)}, {@link #stream(long, long)},
 * {@link #discard()}, {@link #stall()}). Every behaviour records what it read: connection
 * {@code i} (0-based, in accept order) completes {@link #received(int)} with the byte count and
 * SHA-256 when it is done reading (EOF, or the behaviour stopped reading), or exceptionally
 * with the I/O error it hit (e.g. a reset by the proxy). {@link #closed(int)} completes when the
 * connection's socket is closed.
 *
 * <p>{@link #close()} closes the listener and every accepted socket and stops the threads.
 */
public final class TcpTarget implements AutoCloseable {
    /** What a target connection read: byte count and lower-case hex SHA-256. */
    public record Received(long count, String sha256) {
    }

    /** What a target does with one accepted connection; runs on that connection's thread. */
    @FunctionalInterface
    public interface Behaviour {
        void serve(Peer peer) throws IOException;
    }

    static final int CHUNK = 64 * 1024;
    /**
     * The listen backlog, well above the largest burst of connects a test makes (200 tunnels at
     * once). Linux drops a SYN that finds the accept queue full, and the retransmission comes
     * 1 s later, as late as the test fixture's connect timeout: the proxy answers 504. The kernel
     * caps it at {@code net.core.somaxconn} (4096 by default since Linux 5.4).
     */
    static final int BACKLOG = 1024;
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Behaviour behaviour;
    private final ServerSocket server;
    private final ExecutorService threads;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong bytesWritten = new AtomicLong();
    private final Map<Integer, CompletableFuture<Received>> received = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<Void>> closed = new ConcurrentHashMap<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final CountDownLatch closing = new CountDownLatch(1);

    /** Starts listening at once; the caller closes it. */
    public TcpTarget(Behaviour behaviour) throws IOException {
        this.behaviour = behaviour;
        this.server = new ServerSocket(0, BACKLOG, InetAddress.getLoopbackAddress());
        String name = "tcp-target-" + INSTANCES.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, name + "-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        threads.execute(this::acceptLoop);
    }

    // ---- behaviours ----

    /** Copies input to output until EOF, then FIN ({@code shutdownOutput}) and close. Honours a client half-close. */
    public static Behaviour echo() {
        return peer -> {
            byte[] buf = new byte[CHUNK];
            for (int n; (n = peer.in().read(buf)) >= 0; ) {
                peer.record(buf, n);
                peer.write(buf, 0, n);
            }
            peer.doneReading();
            peer.socket().shutdownOutput();
        };
    }

    /**
     * Writes {@code first}, then FIN (the target finishes first), then keeps reading until the
     * client's EOF, recording what it received (see {@link #received(int)}). Nothing is echoed:
     * the name says "then" because the client can still send after the target's FIN.
     */
    public static Behaviour sendThenEcho(byte[] first) {
        byte[] copy = first.clone();
        return peer -> {
            peer.write(copy, 0, copy.length);
            peer.socket().shutdownOutput();
            peer.readToEof();
        };
    }

    /** Reads {@code nBytes} (or up to EOF), then closes with {@code SO_LINGER 0}: a TCP RST. */
    public static Behaviour resetAfter(int nBytes) {
        return peer -> {
            byte[] buf = new byte[CHUNK];
            int left = nBytes;
            while (left > 0) {
                int n = peer.in().read(buf, 0, Math.min(left, buf.length));
                if (n < 0) {
                    break;
                }
                peer.record(buf, n);
                left -= n;
            }
            peer.doneReading();
            peer.socket().setSoLinger(true, 0);
            peer.socket().close();
        };
    }

    /**
     * Writes {@code nBytes} pseudo-random bytes deterministic from {@code seed} (64 KiB chunks,
     * see {@link #sha256OfStream(long, long)}), then FIN, then drains and records input to EOF.
     * {@link #bytesWritten()} advances as each chunk write returns.
     */
    public static Behaviour stream(long nBytes, long seed) {
        return peer -> {
            generate(nBytes, seed, (chunk, len) -> peer.write(chunk, 0, len));
            peer.socket().shutdownOutput();
            peer.readToEof();
        };
    }

    /**
     * Writes {@code chunks} chunks of {@code size} bytes, one every {@code every}, of the bytes
     * {@link #streamBytes(int, long)} gives for {@code chunks * size} and {@code seed}; reads
     * nothing meanwhile, then drains input to EOF (or until the target is closed). A peer that
     * only ever sends, slowly: the tunnel carries traffic one way.
     */
    public static Behaviour trickle(int chunks, int size, Duration every, long seed) {
        byte[] all = streamBytes(chunks * size, seed);
        return peer -> {
            try {
                for (int i = 0; i < chunks; i++) {
                    peer.write(all, i * size, size);
                    // Paced by the target's own closing latch, so that closing it ends the wait.
                    if (i + 1 < chunks && peer.target().closing.await(every.toMillis(), TimeUnit.MILLISECONDS)) {
                        return;
                    }
                }
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
                return;
            }
            peer.readToEof();
        };
    }

    /** Reads and records everything until EOF, writes nothing, then closes. */
    public static Behaviour discard() {
        return Peer::readToEof;
    }

    /** Never reads nor writes; holds the connection until the target is closed (a stalled upstream). */
    public static Behaviour stall() {
        return peer -> {
            try {
                peer.target().closing.await();
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
        };
    }

    // ---- deterministic stream ----

    /** Receives generated chunks; {@code chunk} is reused, only {@code [0, len)} is valid. */
    @FunctionalInterface
    public interface ChunkSink {
        void accept(byte[] chunk, int len) throws IOException;
    }

    /** Generates the {@link #stream(long, long)} bytes chunk by chunk. */
    public static void generate(long nBytes, long seed, ChunkSink sink) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[CHUNK];
        for (long left = nBytes; left > 0; ) {
            int len = (int) Math.min(left, CHUNK);
            if (len < chunk.length) {
                chunk = new byte[len];
            }
            random.nextBytes(chunk);
            sink.accept(chunk, len);
            left -= len;
        }
    }

    /** The lower-case hex SHA-256 of what {@code stream(n, seed)} writes. */
    public static String sha256OfStream(long n, long seed) {
        Payloads.Sha256 sha = new Payloads.Sha256();
        try {
            generate(n, seed, (chunk, len) -> sha.update(chunk, 0, len));
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
        return sha.hex();
    }

    /** The bytes {@code stream(n, seed)} writes, for small {@code n}. */
    public static byte[] streamBytes(int n, long seed) {
        byte[] all = new byte[n];
        int[] at = {0};
        try {
            generate(n, seed, (chunk, len) -> {
                System.arraycopy(chunk, 0, all, at[0], len);
                at[0] += len;
            });
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
        return all;
    }

    // ---- observation ----

    public int port() {
        return server.getLocalPort();
    }

    /** {@code "127.0.0.1:PORT"}, the CONNECT authority of this target. */
    public String authority() {
        return "127.0.0.1:" + port();
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), port());
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Bytes written by all connections so far (updated as each write returns). */
    public long bytesWritten() {
        return bytesWritten.get();
    }

    /** What connection {@code index} (0-based, accept order) read; usable before it is accepted. */
    public CompletableFuture<Received> received(int index) {
        return received.computeIfAbsent(index, i -> new CompletableFuture<>());
    }

    /** {@code received(0)}. */
    public CompletableFuture<Received> received() {
        return received(0);
    }

    /** Completes when connection {@code index}'s socket has been closed by the target. */
    public CompletableFuture<Void> closed(int index) {
        return closed.computeIfAbsent(index, i -> new CompletableFuture<>());
    }

    @Override
    public void close() throws IOException {
        closing.countDown();
        server.close();
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException x) {
                return; // closed
            }
            int index = accepted.getAndIncrement();
            sockets.add(socket);
            try {
                threads.execute(() -> serve(new Peer(this, socket, index)));
            } catch (RuntimeException rejected) {
                closeQuietly(socket);
                return;
            }
        }
    }

    private void serve(Peer peer) {
        try {
            peer.socket().setTcpNoDelay(true);
            behaviour.serve(peer);
            peer.doneReading();
        } catch (Throwable x) {
            received(peer.index).completeExceptionally(x);
        } finally {
            closeQuietly(peer.socket());
            sockets.remove(peer.socket());
            closed(peer.index).complete(null);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** One accepted connection as seen by a {@link Behaviour}. Used by that connection's thread only. */
    public static final class Peer {
        private final TcpTarget target;
        private final Socket socket;
        private final int index;
        private final InputStream in;
        private final OutputStream out;
        private final Payloads.Sha256 sha = new Payloads.Sha256();

        Peer(TcpTarget target, Socket socket, int index) {
            this.target = target;
            this.socket = socket;
            this.index = index;
            try {
                this.in = socket.getInputStream();
                this.out = socket.getOutputStream();
            } catch (IOException x) {
                throw new UncheckedIOException(x);
            }
        }

        public Socket socket() {
            return socket;
        }

        public int index() {
            return index;
        }

        public InputStream in() {
            return in;
        }

        TcpTarget target() {
            return target;
        }

        /** Writes and counts into {@link TcpTarget#bytesWritten()} once the write returned. */
        public void write(byte[] bytes, int offset, int length) throws IOException {
            out.write(bytes, offset, length);
            target.bytesWritten.addAndGet(length);
        }

        /** Records bytes read (count and digest). */
        public void record(byte[] bytes, int length) {
            sha.update(bytes, 0, length);
        }

        /** Reads and records everything until EOF, then {@link #doneReading()}. */
        public void readToEof() throws IOException {
            byte[] buf = new byte[CHUNK];
            for (int n; (n = in.read(buf)) >= 0; ) {
                record(buf, n);
            }
            doneReading();
        }

        /** Completes {@link TcpTarget#received(int)} with what was recorded; later calls do nothing. */
        public void doneReading() {
            CompletableFuture<Received> f = target.received(index);
            if (!f.isDone()) {
                f.complete(new Received(sha.count(), sha.hex()));
            }
        }
    }
}
