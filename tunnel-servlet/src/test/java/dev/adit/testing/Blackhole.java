package dev.adit.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback address whose TCP connects hang until they time out: a connect-timeout target.
 *
 * <p>A {@link ServerSocket} on {@code 127.0.0.1}, port 0, backlog 1, that never accepts. Its
 * accept queue is filled with a few non-blocking connects; on Linux a listener with a full
 * accept queue drops further SYNs, so a new connect gets no answer (neither SYN-ACK nor RST) and
 * times out. Verified by {@code HarnessSelfTest}: a blocking {@code Socket.connect(addr, 500 ms)}
 * throws {@link java.net.SocketTimeoutException}. Linux-specific: other kernels may answer
 * with RST (connection refused) instead.
 */
public final class Blackhole implements AutoCloseable {
    private static final int FILLERS = 4;

    private final ServerSocket server;
    private final List<SocketChannel> fillers = new ArrayList<>();

    private Blackhole(ServerSocket server) {
        this.server = server;
    }

    /** Opens the listener and fills its accept queue (bounded wait of 2 s for the fillers). */
    public static Blackhole open() throws IOException {
        Blackhole hole = new Blackhole(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
        try {
            hole.fill();
        } catch (IOException | RuntimeException x) {
            hole.close();
            throw x;
        }
        return hole;
    }

    private void fill() throws IOException {
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < FILLERS; i++) {
                SocketChannel ch = SocketChannel.open();
                fillers.add(ch);
                ch.configureBlocking(false);
                if (!ch.connect(address())) {
                    ch.register(selector, SelectionKey.OP_CONNECT);
                }
            }
            // Backlog 1 admits 2 connections on Linux (backlog + 1); wait until they completed so
            // the queue is really full. The rest stay in SYN_SENT, which is what we want.
            int connected = (int) fillers.stream().filter(SocketChannel::isConnected).count();
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (connected < 2 && System.nanoTime() < deadline) {
                selector.select(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                for (SelectionKey key : selector.selectedKeys()) {
                    if (((SocketChannel) key.channel()).finishConnect()) {
                        key.cancel();
                        connected++;
                    }
                }
                selector.selectedKeys().clear();
            }
        }
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    /** {@code "127.0.0.1:PORT"}. */
    public String authority() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        for (SocketChannel ch : fillers) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        server.close();
    }
}
