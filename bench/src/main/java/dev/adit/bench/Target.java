package dev.adit.bench;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP target on 127.0.0.1 to 127.0.0.{@value #HOSTS}, one port chosen by the kernel, served by one NIO selector thread of
 * its own (so a target never waits for a client of the same process):
 * <ul>
 * <li>{@link Kind#DISCARD} reads and drops, counting the bytes ({@link #bytesIn()});</li>
 * <li>{@link Kind#SOURCE} writes as fast as the connection takes, until the peer goes;</li>
 * <li>{@link Kind#ECHO} writes back what it reads, and closes when the peer's input ends;</li>
 * <li>{@link Kind#CLOSE} closes each connection as soon as it is accepted.</li>
 * </ul>
 * Every accepted socket has TCP_NODELAY (the echo must answer at once; the bulk targets
 * move 256 KiB at a time, where it changes nothing).
 */
final class Target implements Closeable {
    enum Kind { DISCARD, SOURCE, ECHO, CLOSE }

    private static final int CHUNK = 256 * 1024;
    /** Loopback addresses a target listens on, same port: 127.0.0.1 to 127.0.0.{@value}. */
    static final int HOSTS = 8;

    private final Kind kind;
    private final List<ServerSocketChannel> servers = new ArrayList<>();
    private final Selector selector;
    private final Thread thread;
    private final ByteBuffer scratch = ByteBuffer.allocateDirect(CHUNK);
    private final AtomicLong bytesIn = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private volatile boolean closed;

    private Target(Kind kind) throws IOException {
        this.kind = kind;
        selector = Selector.open();
        int port = 0;
        for (int host = 0; host < HOSTS; host++) {
            ServerSocketChannel server = ServerSocketChannel.open();
            server.bind(new InetSocketAddress(host(host), port), 4096);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            servers.add(server);
            port = server.socket().getLocalPort();
        }
        thread = new Thread(this::run, "target-" + kind.name().toLowerCase());
        thread.setDaemon(true);
    }

    static Target start(Kind kind) throws IOException {
        Target target = new Target(kind);
        target.thread.start();
        return target;
    }

    int port() {
        return servers.get(0).socket().getLocalPort();
    }

    /**
     * The loopback address of the {@code n}th connection, round-robin over {@link #HOSTS}. A
     * connection is a 4-tuple: spreading the targets' addresses spreads the client's (and
     * Adit's) ephemeral ports over as many port spaces, so the setup-rate rows, whose closes
     * leave tens of thousands of sockets in TIME_WAIT, do not exhaust the ports of one
     * destination (when they do, every connect() scans the whole range, and the direct path,
     * the fastest, is the one that suffers most).
     */
    static String host(int n) {
        return "127.0.0." + (1 + Math.floorMod(n, HOSTS));
    }

    /** Bytes a {@link Kind#DISCARD} target has read, all connections together. */
    long bytesIn() {
        return bytesIn.get();
    }

    long accepted() {
        return accepted.get();
    }

    private void run() {
        try (selector) {
            while (!closed) {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    if (!key.isValid()) {
                        continue;
                    }
                    try {
                        if (key.isAcceptable()) {
                            accept((ServerSocketChannel) key.channel());
                        } else {
                            serve(key);
                        }
                    } catch (IOException x) {
                        close(key);
                    }
                }
                selector.selectedKeys().clear();
            }
            for (SelectionKey key : selector.keys()) {
                close(key);
            }
            for (ServerSocketChannel server : servers) {
                server.close();
            }
        } catch (IOException x) {
            if (!closed) {
                throw new UncheckedIOException(x);
            }
        }
    }

    private void accept(ServerSocketChannel server) throws IOException {
        for (SocketChannel channel; (channel = server.accept()) != null; ) {
            accepted.incrementAndGet();
            if (kind == Kind.CLOSE) {
                channel.close();
                continue;
            }
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            int ops = kind == Kind.SOURCE ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ;
            channel.register(selector, ops);
        }
    }

    private void serve(SelectionKey key) throws IOException {
        SocketChannel channel = (SocketChannel) key.channel();
        if (key.isWritable()) {
            if (kind == Kind.SOURCE) {
                // The content does not matter: write the same buffer again and again, until the
                // socket takes no more (a few rounds at most, so other connections get a turn).
                for (int round = 0; round < 8; round++) {
                    scratch.clear();
                    if (channel.write(scratch) < scratch.capacity()) {
                        break;
                    }
                }
            } else if (flushPending(key, channel)) {
                key.interestOps(SelectionKey.OP_READ);
            }
        }
        if (key.isValid() && key.isReadable()) {
            read(key, channel);
        }
    }

    private void read(SelectionKey key, SocketChannel channel) throws IOException {
        for (int round = 0; ; round++) {
            scratch.clear();
            int n = channel.read(scratch);
            if (n < 0) {
                close(key);
                return;
            }
            if (n == 0) {
                return;
            }
            switch (kind) {
                case DISCARD -> bytesIn.addAndGet(n);
                case ECHO -> {
                    scratch.flip();
                    channel.write(scratch);
                    if (scratch.hasRemaining()) {
                        // Backpressure: keep the rest, stop reading until it is written.
                        ByteBuffer pending = ByteBuffer.allocate(scratch.remaining());
                        pending.put(scratch).flip();
                        key.attach(pending);
                        key.interestOps(SelectionKey.OP_WRITE);
                        return;
                    }
                }
                default -> { }
            }
            // The discard target reads until the socket is empty (a few rounds at most, so other
            // connections get a turn), as a blocking reader would; the echo answers each
            // message as it comes.
            if (kind == Kind.DISCARD ? round == 15 : n < scratch.capacity()) {
                return;
            }
        }
    }

    private static boolean flushPending(SelectionKey key, SocketChannel channel) throws IOException {
        ByteBuffer pending = (ByteBuffer) key.attachment();
        if (pending != null) {
            channel.write(pending);
            if (pending.hasRemaining()) {
                return false;
            }
            key.attach(null);
        }
        return true;
    }

    private static void close(SelectionKey key) {
        key.cancel();
        try {
            key.channel().close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
        }
    }
}
