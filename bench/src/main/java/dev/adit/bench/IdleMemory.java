package dev.adit.bench;

import java.io.IOException;
import java.time.Duration;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.util.Callback;

/**
 * Memory per idle tunnel, on an Adit started fresh for the row: {@code n} tunnels to the echo
 * target, each checked with a 1-byte echo, then held without traffic while Adit's memory is
 * read. Over HTTP/1.1 each tunnel is a connection of its own (Adit then holds two sockets per
 * tunnel); over HTTP/2 they share connections of {@link #STREAMS_PER_CONNECTION} streams.
 *
 * <p>Readings, in order: VmRSS right after the start ({@code rssFresh}); the {@code n} tunnels
 * opened at once on that fresh process, as the peers were measured (no warm-up, no forced GC in
 * between: a GC forced there shrinks the heap, and the burst's figure then depends on whether
 * G1 grows it back); VmRSS ({@code rssHeld}); VmRSS again after {@code settle} seconds without
 * traffic or forced GC ({@code rssSettled}: what a JVM that returns idle memory by itself gives
 * back, as the standalone Adit's periodic GC does with G1; the serial collector has none). Those tunnels are then closed, and served
 * as the warm-up (classes loaded, code compiled, pools grown: costs paid once, not per tunnel)
 * for the readings after a full GC: the live heap and VmRSS once they are gone
 * ({@code heapBase}, {@code rssBase}), then with {@code n} tunnels opened again
 * ({@code heapHeld}, {@code rssHeldAfterGc}).</p>
 */
final class IdleMemory {
    static final int STREAMS_PER_CONNECTION = 1000;
    private static final int IN_FLIGHT = 64;

    private IdleMemory() {
    }

    record Result(int held, int connections, long rssFresh, long rssBase, long heapBase, long rssHeld, long rssSettled, long heapHeld,
                  long rssHeldAfterGc, double openSeconds, long errors) {
        /** RSS growth from the fresh start to the tunnels held (the peers' method), KiB per tunnel. */
        double rssPerTunnelFromFresh() {
            return (rssHeld - rssFresh) / (double) held;
        }

        /** The same after the tunnels were held quiet for a while, no GC forced, KiB per tunnel. */
        double rssPerTunnelSettled() {
            return (rssSettled - rssFresh) / (double) held;
        }

        /** RSS growth over the warmed-up baseline, both after a full GC, KiB per tunnel. */
        double rssPerTunnelAfterGc() {
            return (rssHeldAfterGc - rssBase) / (double) held;
        }

        /** Live heap growth after a full GC, KiB per tunnel. */
        double heapPerTunnel() {
            return (heapHeld - heapBase) / (double) held;
        }
    }

    /**
     * @param nmt where to write Adit's native memory summaries (warmed up, then held), or null;
     *            Adit must run with {@code -XX:NativeMemoryTracking=summary}
     */
    static Result run(Rig rig, AditProcess adit, Transport transport, int n, double settle, java.nio.file.Path nmt) throws Exception {
        long rssFresh = adit.rssKiB();
        long t0 = System.nanoTime();
        int count;
        int connections;
        long errors;
        double openSeconds;
        long rssHeld;
        long rssSettled;
        try (Held held = open(rig, transport, n)) {
            openSeconds = (System.nanoTime() - t0) / 1e9;
            // Every tunnel counted in held answered its 1-byte echo: all are through Adit.
            rssHeld = adit.rssKiB();
            // Nothing to do but let the tunnels sit idle for the settle period, then read once.
            long settleEnd = System.nanoTime() + (long) (settle * 1e9);
            for (long left; (left = settleEnd - System.nanoTime()) > 0; ) {
                java.util.concurrent.locks.LockSupport.parkNanos(left);
            }
            rssSettled = adit.rssKiB();
            count = held.count();
            connections = held.connections();
            errors = held.errors;
        }
        // Adit has closed the first tunnels before the baseline is read.
        if (!rig.awaitAditQuiet(Duration.ofSeconds(30))) {
            throw new IOException("Adit still holds the first " + count + " tunnels after 30 s");
        }
        long heapBase = adit.liveHeapKiB();
        long rssBase = adit.rssAfterGcKiB();
        if (nmt != null) {
            java.nio.file.Files.writeString(nmt, "== warmed up, after GC\n" + adit.jcmd("VM.native_memory", "summary"));
        }
        try (Held again = open(rig, transport, n)) {
            if (again.count() != count) {
                throw new IOException("the second time " + again.count() + " tunnels opened, the first time " + count);
            }
            long heapHeld = adit.liveHeapKiB();
            long rssHeldAfterGc = adit.rssAfterGcKiB();
            if (nmt != null) {
                java.nio.file.Files.writeString(nmt, "\n== " + again.count() + " tunnels held, after GC\n" + adit.jcmd("VM.native_memory", "summary"),
                    java.nio.file.StandardOpenOption.APPEND);
                java.nio.file.Files.writeString(nmt, "\n== " + again.count() + " tunnels held, live objects\n" + adit.jcmd("GC.class_histogram"),
                    java.nio.file.StandardOpenOption.APPEND);
            }
            return new Result(count, connections, rssFresh, rssBase, heapBase, rssHeld, rssSettled, heapHeld, rssHeldAfterGc, openSeconds, errors);
        }
    }

    /** The tunnels held open, and what carries them. */
    private static final class Held implements AutoCloseable {
        final Queue<AutoCloseable> tunnels = new ConcurrentLinkedQueue<>();
        final List<Session> sessions = new ArrayList<>();
        final AtomicInteger count = new AtomicInteger();
        long errors;

        int count() {
            return count.get();
        }

        int connections() {
            return sessions.isEmpty() ? count() : sessions.size();
        }

        @Override
        public void close() {
            for (AutoCloseable tunnel : tunnels) {
                try {
                    tunnel.close();
                } catch (Exception ignored) {
                    // closing anyway
                }
            }
            sessions.forEach(H2Client::close);
        }
    }

    private static Held open(Rig rig, Transport transport, int n) throws Exception {
        Held held = new Held();
        try {
            if (transport.isHttp2()) {
                openStreams(rig, transport, n, held);
            } else {
                openSockets(rig, transport, n, held);
            }
            return held;
        } catch (Exception | Error x) {
            held.close();
            throw x;
        }
    }

    private static void openSockets(Rig rig, Transport transport, int n, Held held) throws Exception {
        AtomicInteger next = new AtomicInteger();
        LongAdder errors = new LongAdder();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                ByteBuffer one = ByteBuffer.allocate(1);
                while (next.getAndIncrement() < n) {
                    try {
                        SocketTunnel tunnel = SocketTunnel.open(transport, rig.adit(), rig.echo.port());
                        held.tunnels.add(tunnel);
                        tunnel.write(one.clear());
                        tunnel.readFully(one.clear());
                        held.count.incrementAndGet();
                    } catch (IOException x) {
                        errors.increment();
                    }
                }
            }, "idle-open-" + t);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join(TimeUnit.MINUTES.toMillis(5));
        }
        held.errors = errors.sum();
    }

    private static void openStreams(Rig rig, Transport transport, int n, Held held) throws Exception {
        H2Client client = rig.http2(transport);
        CountDownLatch finished = new CountDownLatch(n);
        Semaphore inFlight = new Semaphore(IN_FLIGHT);
        LongAdder errors = new LongAdder();
        Session session = null;
        for (int i = 0; i < n; i++) {
            if (i % STREAMS_PER_CONNECTION == 0) {
                session = client.connect(rig.adit());
                held.sessions.add(session);
            }
            inFlight.acquire();
            H2Client.open(session, rig.echo.port(), new TunnelStream() {
                private final AtomicBoolean done = new AtomicBoolean();

                @Override
                void onEstablished() {
                    send(ByteBuffer.wrap(new byte[1]), Callback.NOOP);
                }

                @Override
                void onBytes(ByteBuffer bytes) {
                    if (done.compareAndSet(false, true)) {
                        held.count.incrementAndGet();
                        inFlight.release();
                        finished.countDown();
                    }
                }

                @Override
                void onError(Throwable failure) {
                    if (done.compareAndSet(false, true)) {
                        errors.increment();
                        inFlight.release();
                        finished.countDown();
                    }
                }
            });
        }
        if (!finished.await(5, TimeUnit.MINUTES)) {
            throw new IOException("idle tunnels: " + held.count() + " of " + n + " opened within 5 min");
        }
        held.errors = errors.sum();
    }
}
