package dev.adit.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.ResetAwareEndPoint;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.core.TunnelListener;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationPolicy;
import dev.adit.testing.Quiescence;
import dev.adit.testing.Payloads;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The dialing layer on its own: a started {@link TcpUpstream} on a leak-tracking pool, and a way
 * to give a {@link Tunnel} a downstream side without an HTTP server. The downstream side is a
 * Jetty socket connected to a local listener; the test holds the accepted end as "the client"
 * and reads and writes it with blocking I/O (bounded by SO_TIMEOUT).
 *
 * <p>One harness per test class; {@link #assertQuiescentWithoutLeaks()} after each test.</p>
 */
final class UpstreamHarness implements AutoCloseable
{
    static final Duration WAIT = Duration.ofSeconds(10);

    final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
    final QueuedThreadPool threads = new QueuedThreadPool();
    final ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("upstream-test-scheduler", true);
    final ClientConnector connector = new ClientConnector();
    final TcpUpstream upstream;
    final Events events = new Events();
    private final ServerSocket clients;
    private final ExecutorService writers = Executors.newCachedThreadPool(r ->
    {
        Thread t = new Thread(r, "upstream-test-writer");
        t.setDaemon(true);
        return t;
    });

    UpstreamHarness() throws Exception
    {
        threads.setName("upstream-test");
        threads.start();
        scheduler.start();
        connector.setExecutor(threads);
        connector.setScheduler(scheduler);
        connector.setByteBufferPool(pool);
        connector.setIdleTimeout(Duration.ofSeconds(30));
        upstream = new TcpUpstream(connector, DestinationPolicy.allowAll(), Duration.ofSeconds(2));
        upstream.start();
        clients = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        clients.setSoTimeout((int)WAIT.toMillis());
    }

    Tunnel newTunnel(String authority)
    {
        return new Tunnel(authority, "test", TunnelConfig.DEFAULTS, pool, scheduler, events);
    }

    /** What a test's exchange with a proxy is: given a fresh tunnel, the exchange's outcome. */
    interface Exchange
    {
        Promise.Completable<Void> start(Tunnel tunnel) throws Exception;
    }

    /**
     * Runs {@code exchange} on a fresh tunnel to {@code authority}, expects it to fail, and
     * disposes of the tunnel as a proxy route does with one that never started.
     *
     * @return why it failed
     */
    TunnelException failure(String authority, Exchange exchange, String what) throws Exception
    {
        Tunnel tunnel = newTunnel(authority);
        try
        {
            exchange.start(tunnel).get(10, TimeUnit.SECONDS);
        }
        catch (ExecutionException x)
        {
            tunnel.dispose(x.getCause());
            assertThat(x.getCause()).isInstanceOf(TunnelException.class);
            return (TunnelException)x.getCause();
        }
        tunnel.dispose(null);
        return fail(what + " succeeded");
    }

    /** Dials {@code target} and installs {@code factory}'s connection; the future completes with the promise. */
    Promise.Completable<InetSocketAddress> dial(String target, DialOptions options, Function<EndPoint, Connection> factory)
    {
        Promise.Completable<InetSocketAddress> dialed = new Promise.Completable<>();
        upstream.connect(Authority.parse(target), options, factory, dialed);
        return dialed;
    }

    /** Dials {@code target} as the tunnel's upstream side. */
    Promise.Completable<InetSocketAddress> dialTunnel(String target, DialOptions options, Tunnel tunnel)
    {
        return dial(target, options, endPoint -> tunnel.newUpstreamConnection(endPoint, threads, EndPointAborter.TCP_RESET));
    }

    DialOptions plain(Duration connectTimeout)
    {
        return DialOptions.plain(DestinationPolicy.allowAll(), connectTimeout);
    }

    /**
     * Connects the tunnel's downstream side, which starts it once its upstream side is open.
     *
     * @return the client's end, a blocking socket with a read timeout
     */
    Socket attachClient(Tunnel tunnel) throws Exception
    {
        Map<String, Object> context = new HashMap<>();
        Promise.Completable<Connection> opened = new Promise.Completable<>();
        context.put(Transport.CONTEXT_KEY, ResetAwareEndPoint.TCP);
        context.put(ClientConnectionFactory.CONTEXT_KEY, (ClientConnectionFactory)(endPoint, ctx) ->
            tunnel.newDownstreamConnection(endPoint, threads, EndPointAborter.TCP_RESET));
        context.put(ClientConnector.CONNECTION_PROMISE_CONTEXT_KEY, opened);
        connector.connect(clients.getLocalSocketAddress(), context);
        Socket client = clients.accept();
        client.setSoTimeout((int)WAIT.toMillis());
        opened.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        return client;
    }

    /** Writes {@code bytes} on another thread, so that an echo cannot fill both directions' buffers. */
    CompletableFuture<Void> writeAsync(OutputStream out, byte[] bytes)
    {
        return CompletableFuture.runAsync(() ->
        {
            try
            {
                out.write(bytes);
                out.flush();
            }
            catch (IOException x)
            {
                throw new java.io.UncheckedIOException(x);
            }
        }, writers);
    }

    /** Reads exactly {@code n} bytes (each read bounded by the socket's timeout). */
    static byte[] readExactly(InputStream in, int n) throws IOException
    {
        byte[] bytes = in.readNBytes(n);
        assertThat(bytes).as("bytes read before EOF (" + Payloads.seedNote() + ")").hasSize(n);
        return bytes;
    }

    /** Every tunnel created here has closed and every pooled buffer is back (bounded wait). */
    void assertQuiescentWithoutLeaks() throws InterruptedException
    {
        Quiescence.assertNoOpenTunnelsNorLeaks(pool, events::open, events::awaitChange, WAIT);
    }

    @Override
    public void close() throws Exception
    {
        writers.shutdownNow();
        clients.close();
        upstream.stop();
        scheduler.stop();
        threads.stop();
    }

    /** Records tunnel events: how many are open, how each closed. */
    static final class Events implements TunnelListener
    {
        private final java.util.Set<String> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private final ConcurrentLinkedQueue<TunnelFailure> closed = new ConcurrentLinkedQueue<>();
        private volatile CountDownLatch change = new CountDownLatch(1);

        @Override
        public void onOpened(TunnelInfo tunnel)
        {
            open.add(tunnel.id());
            signal();
        }

        @Override
        public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
        {
            open.remove(tunnel.id());
            closed.add(outcome);
            signal();
        }

        private void signal()
        {
            CountDownLatch latch = change;
            change = new CountDownLatch(1);
            latch.countDown();
        }

        void awaitChange(long millis) throws InterruptedException
        {
            change.await(millis, TimeUnit.MILLISECONDS);
        }

        int open()
        {
            return open.size();
        }

        List<TunnelFailure> closed()
        {
            return List.copyOf(closed);
        }
    }
}
