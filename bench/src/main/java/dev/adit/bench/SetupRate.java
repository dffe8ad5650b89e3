package dev.adit.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;

/**
 * Tunnel setup rate: {@code clients} concurrent loops of CONNECT → 200 → close, counting
 * completed tunnels. Over HTTP/1.1 (and direct: a plain TCP connect) each tunnel is a new
 * connection; over HTTP/2 each is a new stream on one shared connection. Two ways to close,
 * as in the peer figures:
 * <ul>
 * <li>{@link Closer#TARGET}: the target closes as soon as it accepts; the client waits for
 * the end (EOF / END_STREAM), then ends its side too (close / END_STREAM);</li>
 * <li>{@link Closer#CLIENT}: after the 200 (direct: after the connect) the client half-closes
 * (FIN / END_STREAM); the echo target closes on that EOF; the client waits for the end.</li>
 * </ul>
 * Targets rotate over the loopback addresses of {@link Target#host}, on both paths alike.
 * A tunnel counts once both directions have ended, so a proxy that does not carry the close
 * through stalls the loop, which is what the peer figures call "stalls".
 */
final class SetupRate {
    enum Closer { TARGET, CLIENT }

    private SetupRate() {
    }

    /** @return completed tunnels per second over the window, and Adit's CPU seconds per tunnel; failed attempts noted */
    static Sample run(Rig rig, Transport transport, Closer closer, int clients, Timing timing) throws Exception {
        Load load = new Load();
        LongAdder completed = new LongAdder();
        int port = closer == Closer.TARGET ? rig.closer.port() : rig.echo.port();
        List<Thread> threads = new ArrayList<>();
        try {
            if (transport.isHttp2()) {
                Session session = rig.http2(transport).connect(rig.adit());
                load.register(() -> H2Client.close(session));
                for (int i = 0; i < clients; i++) {
                    new Http2Loop(session, port, closer, load, completed).next();
                }
            } else {
                for (int i = 0; i < clients; i++) {
                    Thread thread = new Thread(() -> socketLoop(rig, transport, port, closer, load, completed), "setup-" + i);
                    thread.setDaemon(true);
                    threads.add(thread);
                    thread.start();
                }
            }
            Window w = load.measure(completed::sum, rig.aditCpu(transport), timing.warmUp(), timing.window());
            long errors = load.errors.sum();
            return new Sample(w.rate(), w.cpuPerUnit(), errors == 0 ? null : errors + " failed attempts");
        } finally {
            load.stop();
            for (Thread thread : threads) {
                thread.join(10_000);
            }
        }
    }

    private static void socketLoop(Rig rig, Transport transport, int port, Closer closer, Load load, LongAdder completed) {
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        for (int n = 0; !load.stopped(); n++) {
            try (SocketTunnel tunnel = SocketTunnel.open(transport, rig.adit(), Target.host(n), port)) {
                if (closer == Closer.CLIENT) {
                    tunnel.shutdownOutput();
                }
                tunnel.drain(buffer);
                completed.increment();
            } catch (IOException x) {
                load.errors.increment();
            }
        }
    }

    /** One client's loop over HTTP/2: each tunnel a new stream; the next starts when it closed. */
    private static final class Http2Loop {
        private final Session session;
        private final int port;
        private final Closer closer;
        private final Load load;
        private final LongAdder completed;
        private int n;

        Http2Loop(Session session, int port, Closer closer, Load load, LongAdder completed) {
            this.session = session;
            this.port = port;
            this.closer = closer;
            this.load = load;
            this.completed = completed;
        }

        void next() {
            if (!load.stopped()) {
                H2Client.open(session, Target.host(n++), port, new Attempt());
            }
        }

        private final class Attempt extends TunnelStream {
            private final AtomicBoolean done = new AtomicBoolean();
            private final AtomicBoolean ended = new AtomicBoolean();

            @Override
            void onEstablished() {
                if (closer == Closer.CLIENT) {
                    endOnce();
                }
            }

            @Override
            void onRemoteEnd() {
                endOnce();
            }

            private void endOnce() {
                if (ended.compareAndSet(false, true)) {
                    end(Callback.NOOP);
                }
            }

            @Override
            void onStreamClosed() {
                if (done.compareAndSet(false, true)) {
                    completed.increment();
                    next();
                }
            }

            @Override
            void onError(Throwable failure) {
                if (done.compareAndSet(false, true)) {
                    load.errors.increment();
                    var s = stream;
                    if (s != null && !s.isReset()) {
                        s.reset(new ResetFrame(s.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
                    }
                    next();
                }
            }
        }
    }
}
