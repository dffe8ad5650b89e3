package dev.adit.bench;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.util.IteratingCallback;

/**
 * Bulk throughput: {@code tunnels} tunnels, each uploading to the discard target (counted
 * there, as it arrives) or downloading from the source target (counted by the client), as
 * fast as they go. Socket transports use one blocking thread per tunnel writing or reading
 * {@link #SOCKET_CHUNK} at a time (from direct buffers, but for TLS); HTTP/2 transports put
 * every tunnel on one connection, {@link #H2_CHUNK} DATA writes (Jetty frames them at Adit's
 * 16 KiB max frame size) chained on their completion.
 */
final class Bulk {
    enum Direction { UPLOAD, DOWNLOAD }

    /**
     * Bytes per write or read of a socket client: 256 KiB, as the source target writes. With
     * 64 KiB the direct upload reached half the direct download on this machine (12 against
     * 22 to 35 Gbit/s; the peers' direct path: 23), which would flatter every upload ratio.
     */
    static final int SOCKET_CHUNK = 256 * 1024;
    /** Bytes per DATA write of an HTTP/2 client; Jetty frames them at the peer's maximum (16 KiB). */
    static final int H2_CHUNK = 64 * 1024;

    private Bulk() {
    }

    /** @return Gbit/s over the window, and Adit's CPU seconds per GB */
    static Sample run(Rig rig, Transport transport, Direction direction, int tunnels, Timing timing) throws Exception {
        Load load = new Load();
        LongAdder downloaded = new LongAdder();
        int port = direction == Direction.UPLOAD ? rig.discard.port() : rig.source.port();
        List<Thread> threads = new ArrayList<>();
        Session session = null;
        try {
            CountDownLatch started = new CountDownLatch(tunnels);
            if (transport.isHttp2()) {
                session = rig.http2(transport).connect(rig.adit());
                Session s = session;
                load.register(() -> H2Client.close(s));
                ByteBuffer chunk = ByteBuffer.allocateDirect(H2_CHUNK);
                for (int i = 0; i < tunnels; i++) {
                    TunnelStream tunnel = direction == Direction.UPLOAD
                        ? new Uploader(load, started, chunk)
                        : new Downloader(load, started, downloaded);
                    H2Client.open(session, port, tunnel);
                }
            } else {
                for (int i = 0; i < tunnels; i++) {
                    Thread thread = new Thread(() -> socketLoop(rig, transport, direction, port, load, started, downloaded), "bulk-" + i);
                    thread.setDaemon(true);
                    threads.add(thread);
                    thread.start();
                }
            }
            if (!started.await(30, TimeUnit.SECONDS)) {
                load.checkFailure();
                throw new TimeoutException("tunnels not open within 30 s");
            }
            Window w = load.measure(direction == Direction.UPLOAD ? rig.discard::bytesIn : downloaded::sum, rig.aditCpu(transport), timing.warmUp(), timing.window());
            return new Sample(w.rate() * 8 / 1e9, w.cpuPerUnit() * 1e9, null);
        } finally {
            load.stop();
            for (Thread thread : threads) {
                thread.join(10_000);
            }
        }
    }

    private static void socketLoop(Rig rig, Transport transport, Bulk.Direction direction, int port, Load load, CountDownLatch started, LongAdder downloaded) {
        try (SocketTunnel tunnel = SocketTunnel.open(transport, rig.adit(), port)) {
            load.register(tunnel);
            started.countDown();
            ByteBuffer buffer = tunnel.buffer(SOCKET_CHUNK);
            if (direction == Direction.UPLOAD) {
                while (!load.stopped()) {
                    buffer.clear();
                    tunnel.write(buffer);
                }
            } else {
                while (!load.stopped()) {
                    buffer.clear();
                    int n = tunnel.read(buffer);
                    if (n < 0) {
                        throw new EOFException("source ended");
                    }
                    downloaded.add(n);
                }
            }
        } catch (Exception x) {
            load.fail(x);
            started.countDown();
        }
    }

    /** Sends DATA until the load stops, then END_STREAM; each write waits for the previous one. */
    private static final class Uploader extends TunnelStream {
        private final Load load;
        private final CountDownLatch started;
        private final ByteBuffer chunk;
        private final IteratingCallback loop = new IteratingCallback() {
            private boolean ended;

            @Override
            protected Action process() {
                if (load.stopped()) {
                    if (ended) {
                        return Action.SUCCEEDED;
                    }
                    ended = true;
                    end(this);
                    return Action.SCHEDULED;
                }
                send(chunk.duplicate(), this);
                return Action.SCHEDULED;
            }

            @Override
            protected void onCompleteFailure(Throwable cause) {
                load.fail(cause);
            }
        };

        Uploader(Load load, CountDownLatch started, ByteBuffer chunk) {
            this.load = load;
            this.started = started;
            this.chunk = chunk;
        }

        @Override
        void onEstablished() {
            started.countDown();
            loop.iterate();
        }

        @Override
        void onError(Throwable failure) {
            load.fail(failure);
            started.countDown();
        }
    }

    /** Counts what arrives; the stream's reads are always demanded. */
    private static final class Downloader extends TunnelStream {
        private final Load load;
        private final CountDownLatch started;
        private final LongAdder downloaded;

        Downloader(Load load, CountDownLatch started, LongAdder downloaded) {
            this.load = load;
            this.started = started;
            this.downloaded = downloaded;
        }

        @Override
        void onEstablished() {
            started.countDown();
        }

        @Override
        void onBytes(ByteBuffer bytes) {
            downloaded.add(bytes.remaining());
        }

        @Override
        void onRemoteEnd() {
            load.fail(new EOFException("source ended"));
        }

        @Override
        void onError(Throwable failure) {
            load.fail(failure);
            started.countDown();
        }
    }
}
