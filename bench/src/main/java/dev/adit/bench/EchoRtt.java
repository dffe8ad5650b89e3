package dev.adit.bench;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.util.Callback;

/**
 * 64-byte ping-pong through one tunnel to the echo target: send 64 bytes, wait until all 64
 * came back, again; {@code warmUp} round trips unrecorded, then {@code count} recorded. Over
 * sockets one thread does it blocking; over HTTP/2 the next ping is sent from Jetty's thread
 * that received the last byte of the previous pong, so no hand-off between threads is timed.
 */
final class EchoRtt {
    static final int SIZE = 64;

    private EchoRtt() {
    }

    /** Round-trip times in microseconds, sorted; Adit's CPU seconds per round trip, over all of them. */
    record Rtts(double[] micros, double cpuPerRoundTrip) {
        double percentile(double p) {
            int index = (int) Math.ceil(p / 100.0 * micros.length) - 1;
            return micros[Math.max(0, Math.min(micros.length - 1, index))];
        }
    }

    static Rtts run(Rig rig, Transport transport, int warmUp, int count) throws Exception {
        long cpu0 = rig.aditCpu(transport).getAsLong();
        long[] nanos = transport.isHttp2() ? http2(rig, transport, warmUp, count) : socket(rig, transport, warmUp, count);
        long cpu1 = rig.aditCpu(transport).getAsLong();
        double[] micros = Arrays.stream(nanos).mapToDouble(n -> n / 1000.0).sorted().toArray();
        return new Rtts(micros, cpu0 < 0 || cpu1 < 0 ? Double.NaN : (cpu1 - cpu0) / 1e9 / (warmUp + count));
    }

    private static long[] socket(Rig rig, Transport transport, int warmUp, int count) throws Exception {
        long[] nanos = new long[count];
        try (SocketTunnel tunnel = SocketTunnel.open(transport, rig.adit(), rig.echo.port())) {
            ByteBuffer ping = tunnel.buffer(SIZE);
            ByteBuffer pong = tunnel.buffer(SIZE);
            for (int i = -warmUp; i < count; i++) {
                long t0 = System.nanoTime();
                ping.clear();
                tunnel.write(ping);
                pong.clear();
                tunnel.readFully(pong);
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - t0;
                }
            }
        }
        return nanos;
    }

    private static long[] http2(Rig rig, Transport transport, int warmUp, int count) throws Exception {
        Session session = rig.http2(transport).connect(rig.adit());
        try {
            PingPong pingPong = new PingPong(warmUp, count);
            H2Client.open(session, rig.echo.port(), pingPong);
            return pingPong.done.get(60, TimeUnit.SECONDS);
        } finally {
            H2Client.close(session);
        }
    }

    private static final class PingPong extends TunnelStream {
        private final CompletableFuture<long[]> done = new CompletableFuture<>();
        private final long[] nanos;
        // Written by whichever Jetty thread delivers the pong; one at a time.
        private volatile int i;
        private volatile int received;
        private volatile long t0;

        PingPong(int warmUp, int count) {
            this.nanos = new long[count];
            this.i = -warmUp;
        }

        @Override
        void onEstablished() {
            ping();
        }

        private void ping() {
            received = 0;
            t0 = System.nanoTime();
            send(ByteBuffer.allocate(SIZE), Callback.NOOP);
        }

        @Override
        void onBytes(ByteBuffer bytes) {
            received += bytes.remaining();
            if (received < SIZE) {
                return;
            }
            if (i >= 0) {
                nanos[i] = System.nanoTime() - t0;
            }
            if (++i < nanos.length) {
                ping();
            } else {
                done.complete(nanos);
            }
        }

        @Override
        void onError(Throwable failure) {
            done.completeExceptionally(failure);
        }
    }
}
