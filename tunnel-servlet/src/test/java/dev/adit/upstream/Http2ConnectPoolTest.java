package dev.adit.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

import dev.adit.config.ClusterConfig;
import dev.adit.config.HostPort;
import dev.adit.config.ProxyProtocol;
import dev.adit.config.TlsClientConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.config.UpstreamProtocol;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelListener;
import dev.adit.policy.DestinationPolicy;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.tls.PemCredentials;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.component.LifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Http2ConnectPool} against real upstream proxies in this JVM: an Adit terminating
 * CONNECT over h2c and h2 to a TCP echo, and scripted HTTP/2 servers that refuse, reset or
 * stall. Tunnels are driven by a test-only TCP to HTTP/2 CONNECT forwarder; clients are plain
 * sockets and check what comes back by SHA-256. After every test, the pool and the forwarder
 * are stopped and no pooled buffer is left outstanding on either side.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2ConnectPoolTest
{
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static AditUpstream upstream;
    private static TcpTarget echo;
    private final ArrayByteBufferPool.Tracking buffers = new ArrayByteBufferPool.Tracking();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<Tunnel> direct = new ArrayList<>();
    private ScheduledExecutorScheduler scheduler;

    @BeforeAll
    static void startUpstream() throws Exception
    {
        upstream = AditUpstream.start(1024);
        echo = new TcpTarget(TcpTarget.echo());
    }

    @AfterAll
    static void stopUpstream() throws Exception
    {
        echo.close();
        upstream.close();
    }

    @BeforeEach
    void resetCounts() throws Exception
    {
        upstream.resetCounts();
        scheduler = new ScheduledExecutorScheduler("pool-test-scheduler", true);
        scheduler.start();
    }

    @AfterEach
    void stopAndCheckLeaks() throws Exception
    {
        // Sockets and tunnels first, then the pools and servers, in reverse order of creation.
        direct.forEach(tunnel -> tunnel.dispose(new IOException("test over")));
        for (int i = toClose.size() - 1; i >= 0; i--)
            toClose.get(i).close();
        scheduler.stop();
        Await.until("no leaked buffer on the pool's side", WAIT, () -> buffers.getLeaks().isEmpty(),
            () -> buffers.getLeaks().stream().map(b -> b.dump()).toList());
        upstream.assertQuiescentWithoutLeaks(WAIT);
    }

    // ---- fixtures ----

    private Http2ConnectPool pool(int maxStreams, Duration idleTimeout, SslContextFactory.Client tls, String sni) throws Exception
    {
        return pool(maxStreams, idleTimeout, tls, sni, Duration.ofSeconds(5));
    }

    private Http2ConnectPool pool(int maxStreams, Duration idleTimeout, SslContextFactory.Client tls, String sni, Duration connectTimeout) throws Exception
    {
        return pool(maxStreams, idleTimeout, tls, sni, connectTimeout, Duration.ofSeconds(30));
    }

    private Http2ConnectPool pool(int maxStreams, Duration idleTimeout, SslContextFactory.Client tls, String sni, Duration connectTimeout,
                                  Duration connectorIdleTimeout) throws Exception
    {
        return pool(maxStreams, idleTimeout, tls, sni, connectTimeout, connectorIdleTimeout, p -> {});
    }

    /** A started h2c pool; {@code configure} sets what must be set before the start. */
    private Http2ConnectPool pool(int maxStreams, Duration idleTimeout, Consumer<Http2ConnectPool> configure) throws Exception
    {
        return pool(maxStreams, idleTimeout, null, null, Duration.ofSeconds(5), Duration.ofSeconds(30), configure);
    }

    private Http2ConnectPool pool(int maxStreams, Duration idleTimeout, SslContextFactory.Client tls, String sni, Duration connectTimeout,
                                  Duration connectorIdleTimeout, Consumer<Http2ConnectPool> configure) throws Exception
    {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("pool-client");
        ClientConnector connector = new ClientConnector();
        connector.setExecutor(threads);
        connector.setScheduler(scheduler);
        connector.setByteBufferPool(buffers);
        connector.setIdleTimeout(connectorIdleTimeout);
        HTTP2Client client = Http2ConnectPool.newHttp2Client(connector);
        Http2ConnectPool pool = new Http2ConnectPool(client, maxStreams, idleTimeout, connectTimeout, tls, sni);
        configure.accept(pool);
        pool.start();
        toClose.add(pool::stop);
        return pool;
    }

    private Http2ConnectPool pool(int maxStreams) throws Exception
    {
        return pool(maxStreams, Duration.ofSeconds(30), null, null);
    }

    private TcpToHttp2Forwarder forwarder(Http2ConnectPool pool, HostPort endpoint, MetaData.ConnectRequest request) throws Exception
    {
        return forwarder(pool, endpoint, request, Duration.ofSeconds(30));
    }

    private TcpToHttp2Forwarder forwarder(Http2ConnectPool pool, HostPort endpoint, MetaData.ConnectRequest request, Duration tunnelIdleTimeout) throws Exception
    {
        TcpToHttp2Forwarder forwarder = new TcpToHttp2Forwarder(pool, endpoint, request, buffers, tunnelIdleTimeout);
        toClose.add(forwarder);
        toClose.add(() -> Await.until("forwarder tunnels closed", WAIT, () -> forwarder.openTunnels() == 0, forwarder::outcomes));
        return forwarder;
    }

    /** A relay between the pool and {@code target}, closed after the pool. */
    private TcpRelay relay(HostPort target) throws IOException
    {
        TcpRelay relay = new TcpRelay(target);
        toClose.add(relay);
        return relay;
    }

    private static MetaData.ConnectRequest connect(String authority)
    {
        return new MetaData.ConnectRequest((String)null, new HostPortHttpField(authority), null, HttpFields.EMPTY, null);
    }

    private Socket socket(InetSocketAddress address) throws IOException
    {
        Socket socket = new Socket();
        toClose.add(socket);
        socket.connect(address, (int)WAIT.toMillis());
        socket.setSoTimeout((int)WAIT.toMillis());
        socket.setTcpNoDelay(true);
        return socket;
    }

    private static byte[] readExactly(Socket socket, int n) throws IOException
    {
        byte[] bytes = socket.getInputStream().readNBytes(n);
        assertThat(bytes).as("bytes before EOF").hasSize(n);
        return bytes;
    }

    private static byte[] readToEnd(Socket socket) throws IOException
    {
        return socket.getInputStream().readAllBytes();
    }

    /** Opens a tunnel straight through the pool; its downstream side never opens, so it never starts. */
    private CompletableFuture<InetSocketAddress> open(Http2ConnectPool pool, HostPort endpoint, String authority, Duration responseTimeout)
    {
        Tunnel tunnel = new Tunnel(authority, "test", TunnelConfig.DEFAULTS, buffers, scheduler, TunnelListener.NOOP);
        direct.add(tunnel);
        CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        pool.open(endpoint, connect(authority), tunnel, responseTimeout, Promise.from(result::complete, x ->
        {
            tunnel.dispose(x);
            result.completeExceptionally(x);
        }));
        return result;
    }

    private static Throwable failureOf(CompletableFuture<?> future) throws Exception
    {
        try
        {
            Object value = future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            throw new AssertionError("expected a failure, got " + value);
        }
        catch (ExecutionException x)
        {
            return x.getCause();
        }
    }

    private static void echoesByteExact(Socket socket, byte[] payload) throws IOException
    {
        assertThat(Payloads.sha256(readExactly(socket, payload.length))).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
    }

    /** FIN to the tunnel; the echo target answers with its FIN, which must come back as EOF. */
    private static void halfCloseAndExpectEof(Socket socket) throws IOException
    {
        socket.shutdownOutput();
        assertThat(socket.getInputStream().read()).as("EOF after the echo").isEqualTo(-1);
        socket.close();
    }

    // ---- pooling ----

    @Test
    void fiveHundredConcurrentTunnelsShareFiveConnectionsOfAHundredStreams() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));

        List<Socket> sockets = new ArrayList<>();
        // In waves of 50, so that the echo target's accept backlog (64) keeps up; every tunnel
        // stays open, so that 500 are open at the end.
        for (int wave = 0; wave < 10; wave++)
        {
            List<byte[]> payloads = new ArrayList<>();
            for (int i = 0; i < 50; i++)
            {
                Socket socket = socket(forwarder.address());
                byte[] payload = Payloads.random(16 * 1024);
                socket.getOutputStream().write(payload);
                sockets.add(socket);
                payloads.add(payload);
            }
            for (int i = 0; i < 50; i++)
            {
                Socket socket = sockets.get(wave * 50 + i);
                echoesByteExact(socket, payloads.get(i));
            }
            assertThat(forwarder.openFailures).isEmpty();
        }

        // All 500 tunnels are open now.
        assertThat(forwarder.openFailures).isEmpty();
        assertThat(pool.streamCount(endpoint)).isEqualTo(500);
        assertThat(pool.connectionCount(endpoint)).isEqualTo(5);
        assertThat(pool.peakStreamsPerConnection(endpoint)).isEqualTo(100);
        assertThat(upstream.acceptedPlain()).as("connections the upstream accepted").isEqualTo(5);

        for (Socket socket : sockets)
            halfCloseAndExpectEof(socket);
        Await.until("every stream slot returned", WAIT, () -> pool.streamCount(endpoint) == 0, () -> pool.streamCount(endpoint));
        assertThat(pool.connectionCount(endpoint)).as("connections stay pooled").isEqualTo(5);
        Await.until("500 tunnels completed", WAIT, () -> forwarder.outcomes().size() == 500, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsOnly(TunnelFailure.COMPLETED);
    }

    @Test
    void thePeersLowerMaxConcurrentStreamsIsHonouredAndFreedSlotsAreReused() throws Exception
    {
        AditUpstream narrow = AditUpstream.start(10);
        toClose.add(narrow);
        toClose.add(() -> narrow.assertQuiescentWithoutLeaks(WAIT));
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = narrow.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));

        for (int wave = 1; wave <= 2; wave++)
        {
            List<Socket> sockets = new ArrayList<>();
            List<byte[]> payloads = new ArrayList<>();
            for (int i = 0; i < 50; i++)
            {
                Socket socket = socket(forwarder.address());
                byte[] payload = Payloads.random(4096);
                socket.getOutputStream().write(payload);
                sockets.add(socket);
                payloads.add(payload);
            }
            for (int i = 0; i < sockets.size(); i++)
                echoesByteExact(sockets.get(i), payloads.get(i));

            assertThat(forwarder.openFailures).as("no stream refused by the peer").isEmpty();
            assertThat(pool.streamCount(endpoint)).isEqualTo(50);
            assertThat(pool.peakStreamsPerConnection(endpoint)).isEqualTo(10);
            assertThat(pool.connectionCount(endpoint)).isEqualTo(5);
            for (Socket socket : sockets)
                halfCloseAndExpectEof(socket);
            Await.until("every stream slot returned", WAIT, () -> pool.streamCount(endpoint) == 0, pool::toString);
        }
        // The second wave ran on the slots the first one returned, and the peer agreed.
        assertThat(narrow.acceptedPlain()).isEqualTo(5);
        assertThat(pool.connectAttempts(endpoint)).isEqualTo(5);
    }

    @Test
    void fiftySimultaneousFirstRequestsWaitForOneConnection() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        ExecutorService clients = Executors.newFixedThreadPool(50);
        toClose.add(clients::shutdownNow);
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch allEchoed = new CountDownLatch(50);
        List<Future<Void>> results = new ArrayList<>();
        for (int i = 0; i < 50; i++)
        {
            results.add(clients.submit(() ->
            {
                byte[] payload = Payloads.random(4096);
                go.await();
                Socket socket = socket(forwarder.address());
                socket.getOutputStream().write(payload);
                echoesByteExact(socket, payload);
                allEchoed.countDown();
                // Keep every tunnel open until all have echoed: 50 concurrent streams.
                assertThat(allEchoed.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                halfCloseAndExpectEof(socket);
                return null;
            }));
        }
        go.countDown();
        for (Future<Void> result : results)
            result.get(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);

        assertThat(forwarder.openFailures).isEmpty();
        assertThat(pool.connectAttempts(endpoint)).isEqualTo(1);
        assertThat(upstream.acceptedPlain()).isEqualTo(1);
        assertThat(pool.peakStreamsPerConnection(endpoint)).isEqualTo(50);
    }

    @Test
    void anIdleConnectionIsClosedAfterTheIdleTimeoutButNotWhileATunnelIsQuiet() throws Exception
    {
        Duration idle = Duration.ofMillis(300);
        Http2ConnectPool pool = pool(100, idle, null, null);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));

        Socket quiet = socket(forwarder.address());
        byte[] payload = Payloads.random(1000);
        quiet.getOutputStream().write(payload);
        echoesByteExact(quiet, payload);
        Await.holds("a connection carrying a quiet tunnel stays", idle.multipliedBy(3), () -> pool.connectionCount(endpoint) == 1, () -> pool);
        echoesByteExactAgain(quiet);
        halfCloseAndExpectEof(quiet);

        Await.until("idle connection closed by the pool", WAIT, () -> pool.connectionCount(endpoint) == 0, () -> pool);
        Await.until("idle connection closed at the upstream", WAIT, () -> upstream.openFromClients() == 0, upstream::openFromClients);

        Socket next = socket(forwarder.address());
        next.getOutputStream().write(payload);
        echoesByteExact(next, payload);
        assertThat(upstream.acceptedPlain()).as("a fresh connection for the next tunnel").isEqualTo(2);
        halfCloseAndExpectEof(next);
    }

    @Test
    void aQuietTunnelOutlivesTheClientConnectorsIdleTimeout() throws Exception
    {
        Duration connectorIdle = Duration.ofMillis(300);
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), null, null, Duration.ofSeconds(5), connectorIdle);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));

        Socket quiet = socket(forwarder.address());
        byte[] payload = Payloads.random(1000);
        quiet.getOutputStream().write(payload);
        echoesByteExact(quiet, payload);
        Await.holds("the connection of a quiet tunnel stays", connectorIdle.multipliedBy(3), () -> pool.connectionCount(endpoint) == 1, () -> pool);
        echoesByteExactAgain(quiet);
        halfCloseAndExpectEof(quiet);
        // Without tunnels, the connector's idle timeout closes the connection (before the pool's own).
        Await.until("connection closed once idle", WAIT, () -> pool.connectionCount(endpoint) == 0, () -> pool);
        assertThat(upstream.acceptedPlain()).isEqualTo(1);
    }

    private static void echoesByteExactAgain(Socket socket) throws IOException
    {
        byte[] more = Payloads.random(100);
        socket.getOutputStream().write(more);
        echoesByteExact(socket, more);
    }

    @Test
    void aLostConnectionEndsItsTunnelsAndTheNextRequestGetsAFreshOne() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        Socket first = socket(forwarder.address());
        byte[] payload = Payloads.random(1000);
        first.getOutputStream().write(payload);
        echoesByteExact(first, payload);

        upstream.dropConnections();
        // The client sees its tunnel end abortively (a TCP reset or an early EOF), never hangs.
        InputStream in = first.getInputStream();
        try
        {
            assertThat(in.read()).isEqualTo(-1);
        }
        catch (IOException reset)
        {
            // Expected: the forwarder resets the client's socket.
        }
        Await.until("lost connection dropped from the pool", WAIT, () -> pool.connectionCount(endpoint) == 0, () -> pool);
        Await.until("the tunnel ended", WAIT, () -> forwarder.openTunnels() == 0, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.UPSTREAM_RESET);

        Socket second = socket(forwarder.address());
        second.getOutputStream().write(payload);
        echoesByteExact(second, payload);
        assertThat(upstream.acceptedPlain()).isEqualTo(2);
        halfCloseAndExpectEof(second);
    }

    // ---- minimum, keepalive and lost connections ----

    @Test
    void prewarmedConnectionsOpenBeforeAnyTunnelAndAreKeptAtTheMinimum() throws Exception
    {
        TcpRelay relay = relay(upstream.plain());
        HostPort endpoint = relay.address();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), p ->
        {
            p.setMinConnections(3);
            p.prewarm(List.of(endpoint));
        });
        Await.until("three connections open before any tunnel", WAIT,
            () -> pool.connectionCount(endpoint) == 3 && upstream.openFromClients() == 3, pool::toString);
        assertThat(upstream.acceptedPlain()).as("connections the upstream accepted").isEqualTo(3);
        assertThat(pool.streamCount(endpoint)).isZero();

        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(10_000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);
        assertThat(relay.accepted()).as("the tunnel took a pre-warmed connection").isEqualTo(3);
        halfCloseAndExpectEof(socket);

        relay.resetOne();
        Await.until("one lost connection replaced", WAIT,
            () -> relay.accepted() == 4 && pool.connectionCount(endpoint) == 3 && upstream.openFromClients() == 3, pool::toString);
        relay.resetAll();
        Await.until("every lost connection replaced (after a backoff: they died young)", WAIT,
            () -> relay.accepted() == 7 && pool.connectionCount(endpoint) == 3 && upstream.openFromClients() == 3, pool::toString);
        assertThat(pool.connectAttempts(endpoint)).as("no attempt beyond the replacements").isEqualTo(7);

        Socket next = socket(forwarder.address());
        next.getOutputStream().write(payload);
        echoesByteExact(next, payload);
        halfCloseAndExpectEof(next);
        Await.until("tunnels completed", WAIT, () -> forwarder.outcomes().size() == 2, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsOnly(TunnelFailure.COMPLETED);
    }

    @Test
    void aMinimumThatCannotBeKeptIsRetriedWithBackoffUntilTheEndpointIsBack() throws Exception
    {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            closedPort = probe.getLocalPort();
        }
        // Accepts, then closes each connection before SETTINGS: the endpoint is down.
        TcpRelay relay = relay(new HostPort("127.0.0.1", closedPort));
        HostPort endpoint = relay.address();
        long start = System.nanoTime();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), p ->
        {
            p.setMinConnections(1);
            p.prewarm(List.of(endpoint));
        });
        Await.until("four failed attempts", WAIT, () -> pool.connectAttempts(endpoint) >= 4, pool::toString);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("100, 200 and 400 ms of backoff between them")
            .isGreaterThanOrEqualTo(Duration.ofMillis(700));
        assertThat(pool.connectionCount(endpoint)).isZero();

        relay.retarget(upstream.plain());
        Await.until("the minimum restored", WAIT, () -> pool.connectionCount(endpoint) == 1, pool::toString);
        assertThat(upstream.acceptedPlain()).isEqualTo(1);
    }

    @Test
    void prewarmedConnectionsWorkOverTls() throws Exception
    {
        HostPort endpoint = upstream.tls();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), trustingTheTestCa(), null, Duration.ofSeconds(5), Duration.ofSeconds(30), p ->
        {
            p.setMinConnections(2);
            p.prewarm(List.of(endpoint));
        });
        Await.until("two TLS connections before any tunnel", WAIT, () -> pool.connectionCount(endpoint) == 2, pool::toString);
        assertThat(upstream.acceptedTls()).isEqualTo(2);
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(50_000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);
        halfCloseAndExpectEof(socket);
        assertThat(upstream.acceptedTls()).as("the tunnel took a pre-warmed connection").isEqualTo(2);
    }

    @Test
    void fullConnectionsGetANewOneAndTheIdleTimeoutClosesOnlyThoseAboveTheMinimum() throws Exception
    {
        Duration idle = Duration.ofMillis(300);
        HostPort endpoint = upstream.plain();
        Http2ConnectPool pool = pool(2, idle, p ->
        {
            p.setMinConnections(2);
            p.prewarm(List.of(endpoint));
        });
        Await.until("two pre-warmed connections", WAIT, () -> pool.connectionCount(endpoint) == 2, pool::toString);
        Await.holds("pre-warmed connections outlive the idle timeout", idle.multipliedBy(3), () -> pool.connectionCount(endpoint) == 2, pool::toString);

        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < 6; i++)
        {
            Socket socket = socket(forwarder.address());
            byte[] payload = Payloads.random(8192);
            socket.getOutputStream().write(payload);
            echoesByteExact(socket, payload);
            sockets.add(socket);
        }
        assertThat(pool.streamCount(endpoint)).isEqualTo(6);
        assertThat(pool.peakStreamsPerConnection(endpoint)).isEqualTo(2);
        assertThat(pool.connectionCount(endpoint)).as("two pre-warmed, full, and one more").isEqualTo(3);
        assertThat(upstream.acceptedPlain()).isEqualTo(3);

        for (Socket socket : sockets)
            halfCloseAndExpectEof(socket);
        Await.until("back to the minimum once idle", WAIT,
            () -> pool.connectionCount(endpoint) == 2 && upstream.openFromClients() == 2, pool::toString);
        Await.holds("never below the minimum", idle.multipliedBy(3), () -> pool.connectionCount(endpoint) == 2, pool::toString);
        assertThat(upstream.acceptedPlain()).isEqualTo(3);
    }

    @Test
    void anIdlePooledConnectionIsPingedAndStaysWhileThePeerAnswers() throws Exception
    {
        Duration interval = Duration.ofMillis(200);
        Duration timeout = Duration.ofMillis(500);
        HostPort endpoint = upstream.plain();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), p ->
        {
            p.setMinConnections(1);
            p.prewarm(List.of(endpoint));
            p.setPingInterval(interval);
            p.setPingTimeout(timeout);
        });
        Await.until("pre-warmed connection", WAIT, () -> pool.connectionCount(endpoint) == 1, pool::toString);
        // Five PINGs take over a second, well past interval + timeout: had an ACK not been
        // taken, the connection would have been aborted and replaced by then.
        Await.until("PINGs at the upstream", WAIT, () -> upstream.pingsReceived() >= 5, upstream::pingsReceived);
        Await.holds("an answering connection stays", interval.plus(timeout).multipliedBy(2), () -> pool.connectionCount(endpoint) == 1, pool::toString);
        assertThat(upstream.acceptedPlain()).as("never replaced").isEqualTo(1);
    }

    @Test
    void pingsKeepNeitherAQuietTunnelNorAnIdleConnectionAlive() throws Exception
    {
        Duration idle = Duration.ofMillis(500);
        HostPort endpoint = upstream.plain();
        Http2ConnectPool pool = pool(100, idle, p ->
        {
            p.setPingInterval(Duration.ofMillis(100));
            p.setPingTimeout(Duration.ofMillis(500));
        });
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()), Duration.ofMillis(800));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(1000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);
        int pingsBefore = upstream.pingsReceived();

        Await.until("the quiet tunnel idled out", WAIT, () -> forwarder.outcomes().size() == 1, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.IDLE_TIMEOUT);
        assertThat(upstream.pingsReceived() - pingsBefore).as("PINGs while the tunnel was quiet").isGreaterThanOrEqualTo(3);
        Await.until("the idle connection closed, PINGs notwithstanding", WAIT,
            () -> pool.connectionCount(endpoint) == 0 && upstream.openFromClients() == 0, pool::toString);
    }

    @Test
    void aConnectionWhosePeerStopsAnsweringPingsIsAbortedWithItsTunnels() throws Exception
    {
        Duration interval = Duration.ofMillis(200);
        Duration timeout = Duration.ofMillis(500);
        TcpRelay relay = relay(upstream.plain());
        HostPort endpoint = relay.address();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), p ->
        {
            p.setPingInterval(interval);
            p.setPingTimeout(timeout);
        });
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < 2; i++)
        {
            Socket socket = socket(forwarder.address());
            byte[] payload = Payloads.random(5000);
            socket.getOutputStream().write(payload);
            echoesByteExact(socket, payload);
            sockets.add(socket);
        }

        long paused = System.nanoTime();
        relay.pause();
        Await.until("the dead connection's tunnels ended", WAIT, () -> forwarder.openTunnels() == 0, forwarder::outcomes);
        assertThat(Duration.ofNanos(System.nanoTime() - paused)).as("within interval + timeout, plus scheduling slack")
            .isLessThan(interval.plus(timeout).plusSeconds(2));
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.UPSTREAM_RESET, TunnelFailure.UPSTREAM_RESET);
        assertThat(pool.connectionCount(endpoint)).isZero();
        for (Socket socket : sockets)
            expectAbortiveEnd(socket);

        relay.resume();
        Socket next = socket(forwarder.address());
        byte[] payload = Payloads.random(100_000);
        next.getOutputStream().write(payload);
        echoesByteExact(next, payload);
        assertThat(relay.accepted()).as("a fresh connection").isEqualTo(2);
        halfCloseAndExpectEof(next);
    }

    @Test
    void anUpstreamConnectionResetMidStreamEndsItsTunnelsAtOnceAndTheNextTunnelGetsAFreshOne() throws Exception
    {
        TcpRelay relay = relay(upstream.plain());
        HostPort endpoint = relay.address();
        Http2ConnectPool pool = pool(100);
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        Socket quiet = socket(forwarder.address());
        byte[] small = Payloads.random(1000);
        quiet.getOutputStream().write(small);
        echoesByteExact(quiet, small);

        Socket busy = socket(forwarder.address());
        byte[] big = Payloads.random(8 * 1024 * 1024);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        toClose.add(writer::shutdownNow);
        Future<?> sending = writer.submit(() ->
        {
            busy.getOutputStream().write(big);
            return null;
        });
        int prefix = 256 * 1024;
        assertThat(Payloads.sha256(readExactly(busy, prefix))).as("bytes in flight, " + Payloads.seedNote()).isEqualTo(Payloads.sha256(big, 0, prefix));

        relay.resetAll();
        // Promptly: the tunnels' idle timeout is 30 s, the wait's bound 10 s.
        Await.until("both tunnels ended", WAIT, () -> forwarder.openTunnels() == 0, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.UPSTREAM_RESET, TunnelFailure.UPSTREAM_RESET);
        expectAbortiveEnd(quiet);
        try
        {
            sending.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (ExecutionException expected)
        {
            // The forwarder reset the writer's socket.
        }
        Await.until("lost connection dropped from the pool", WAIT, () -> pool.connectionCount(endpoint) == 0, pool::toString);

        Socket next = socket(forwarder.address());
        byte[] payload = Payloads.random(300_000);
        ExecutorService nextWriter = Executors.newSingleThreadExecutor();
        toClose.add(nextWriter::shutdownNow);
        Future<?> sent = nextWriter.submit(() ->
        {
            next.getOutputStream().write(payload);
            return null;
        });
        echoesByteExact(next, payload);
        sent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(relay.accepted()).as("a fresh connection").isEqualTo(2);
        halfCloseAndExpectEof(next);
    }

    @Test
    void aStaticH2ClusterPrewarmsItsEndpointsWhenItStartsAndPingsThem() throws Exception
    {
        HostPort endpoint = upstream.plain();
        TcpRelay relay = relay(endpoint);
        ClusterConfig config = new ClusterConfig("back", ClusterConfig.Type.STATIC, List.of(endpoint, relay.address()), Duration.ofSeconds(5),
            TlsClientConfig.DISABLED, UpstreamProtocol.H2, 100, Duration.ofSeconds(30), ProxyProtocol.NONE, 2, Duration.ofMillis(200), Duration.ofSeconds(1));
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("cluster-client");
        ClientConnector connector = new ClientConnector();
        connector.setExecutor(threads);
        connector.setScheduler(scheduler);
        connector.setByteBufferPool(buffers);
        Cluster cluster = new Cluster(config, new TcpUpstream(connector, DestinationPolicy.allowAll(), Duration.ofSeconds(5)),
            DestinationPolicy.allowAll(), Http2ConnectPool.newHttp2Client(connector));
        cluster.start();
        toClose.add(cluster::stop);

        Await.until("two connections to each endpoint", WAIT,
            () -> cluster.pool().connectionCount(endpoint) == 2 && cluster.pool().connectionCount(relay.address()) == 2, cluster::pool);
        assertThat(upstream.acceptedPlain()).as("two direct, two through the relay").isEqualTo(4);
        assertThat(relay.accepted()).isEqualTo(2);
        Await.until("PINGs on every connection", WAIT, () -> upstream.pingsReceived() >= 8, upstream::pingsReceived);
    }

    /** The client sees its tunnel end abortively (a TCP reset or an early EOF), never hangs. */
    private static void expectAbortiveEnd(Socket socket)
    {
        try
        {
            InputStream in = socket.getInputStream();
            while (in.read() >= 0)
            {
                // Echoed bytes still in flight.
            }
        }
        catch (IOException reset)
        {
            // Expected: the forwarder resets the client's socket.
        }
    }

    // ---- half-close and early data ----

    @Test
    void theClientsFinTravelsAsEndStreamAndTheTargetsFinComesBack() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        TcpToHttp2Forwarder forwarder = forwarder(pool, upstream.plain(), connect(echo.authority()));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(256 * 1024);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        toClose.add(writer::shutdownNow);
        Future<?> sent = writer.submit(() ->
        {
            socket.getOutputStream().write(payload);
            socket.shutdownOutput();
            return null;
        });
        byte[] echoed = readToEnd(socket);
        sent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(Payloads.sha256(echoed)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
        socket.close();
        Await.until("tunnel completed", WAIT, () -> forwarder.outcomes().size() == 1, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.COMPLETED);
    }

    @Test
    void theTargetsFinTravelsAsEndStreamWhileTheClientKeepsSending() throws Exception
    {
        byte[] first = Payloads.random(100_000);
        try (TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(first)))
        {
            Http2ConnectPool pool = pool(100);
            TcpToHttp2Forwarder forwarder = forwarder(pool, upstream.plain(), connect(target.authority()));
            Socket socket = socket(forwarder.address());
            byte[] received = readToEnd(socket);
            assertThat(Payloads.sha256(received)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(first));

            byte[] later = Payloads.random(200_000);
            socket.getOutputStream().write(later);
            socket.shutdownOutput();
            TcpTarget.Received atTarget = target.received(0).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(atTarget.count()).isEqualTo(later.length);
            assertThat(atTarget.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(later));
            socket.close();
            Await.until("tunnel completed", WAIT, () -> forwarder.outcomes().size() == 1, forwarder::outcomes);
            assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.COMPLETED);
        }
    }

    @Test
    void dataSentWithTheTwoHundredIsNotLost() throws Exception
    {
        ScriptedUpstream scripted = new ScriptedUpstream(buffers);
        toClose.add(scripted);
        Http2ConnectPool pool = pool(100);
        TcpToHttp2Forwarder forwarder = forwarder(pool, scripted.raw(), connect("greeting.test:1"));
        Socket socket = socket(forwarder.address());
        // HEADERS(200) and DATA("hello", END_STREAM) leave the upstream back to back.
        assertThat(new String(readToEnd(socket), StandardCharsets.UTF_8)).isEqualTo(ScriptedUpstream.GREETING);
        socket.getOutputStream().write(Payloads.random(1000));
        socket.shutdownOutput();
        Await.until("tunnel completed", WAIT, () -> forwarder.outcomes().size() == 1, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.COMPLETED);
        Await.until("stream slot returned", WAIT, () -> pool.streamCount() == 0, pool::toString);
    }

    @Test
    void extendedConnectWithTheBytestreamProtocolTunnels() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        MetaData.ConnectRequest request = new MetaData.ConnectRequest("http", new HostPortHttpField(echo.authority()), "/", HttpFields.EMPTY, "bytestream");
        TcpToHttp2Forwarder forwarder = forwarder(pool, upstream.plain(), request);
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(70_000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);
        halfCloseAndExpectEof(socket);
    }

    // ---- refusals and failures ----

    static Stream<Arguments> refusals()
    {
        return Stream.of(
            Arguments.of("auth.test", 407, "Proxy-Authenticate", "Basic realm=\"upstream\"", "proxy authentication required\n"),
            Arguments.of("forbidden.test", 403, null, null, "forbidden by the upstream\n"),
            Arguments.of("busy.test", 503, "Retry-After", "7", "busy\n"));
    }

    @ParameterizedTest(name = "an upstream {1} for {0} is relayed with its headers and body")
    @MethodSource("refusals")
    void upstreamRefusalsAreRelayedWithStatusHeadersAndBody(String host, int status, String header, String value, String body) throws Exception
    {
        ScriptedUpstream scripted = new ScriptedUpstream(buffers);
        toClose.add(scripted);
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = scripted.refusing();
        for (int i = 0; i < 2; i++)
        {
            Throwable failure = failureOf(open(pool, endpoint, host + ":443", WAIT));
            assertThat(failure).isInstanceOfSatisfying(UpstreamRefusedException.class, refused ->
            {
                assertThat(refused.failure()).isEqualTo(TunnelFailure.UPSTREAM_REFUSED);
                assertThat(refused.status()).isEqualTo(status);
                if (header != null)
                    assertThat(refused.headers().get(header)).isEqualTo(value);
                assertThat(refused.headers().get(HttpHeader.CONTENT_TYPE)).isEqualTo("text/plain;charset=utf-8");
                assertThat(refused.headers().contains(HttpHeader.CONTENT_LENGTH)).as("framing is the relay's").isFalse();
                assertThat(StandardCharsets.UTF_8.decode(refused.body()).toString()).isEqualTo(body);
            });
        }
        Await.until("stream slots returned", WAIT, () -> pool.streamCount(endpoint) == 0, pool::toString);
        assertThat(pool.connectAttempts(endpoint)).as("both refusals on one connection").isEqualTo(1);
    }

    @Test
    void aRefusalsBodyIsKeptUpTo64KiB() throws Exception
    {
        ScriptedUpstream scripted = new ScriptedUpstream(buffers);
        toClose.add(scripted);
        Http2ConnectPool pool = pool(100);
        Throwable failure = failureOf(open(pool, scripted.refusing(), "big.test:443", WAIT));
        assertThat(failure).isInstanceOfSatisfying(UpstreamRefusedException.class, refused ->
        {
            assertThat(refused.status()).isEqualTo(502);
            assertThat(refused.body().remaining()).isEqualTo(64 * 1024);
        });
        Await.until("stream slot returned", WAIT, () -> pool.streamCount() == 0, pool::toString);
    }

    @Test
    void adit403ForADeniedTargetIsRelayed() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        Throwable failure = failureOf(open(pool, upstream.plain(), "127.0.0.66:80", WAIT));
        assertThat(failure).isInstanceOfSatisfying(UpstreamRefusedException.class, refused ->
        {
            assertThat(refused.status()).isEqualTo(403);
            assertThat(StandardCharsets.UTF_8.decode(refused.body()).toString()).startsWith("denied:");
        });
    }

    static Stream<Arguments> resets()
    {
        return Stream.of(
            Arguments.of("connect-error.test", TunnelFailure.CONNECT_FAILED, "http_connect_error", 1),
            Arguments.of("protocol-error.test", TunnelFailure.UPSTREAM_PROTOCOL_ERROR, "protocol_error", 1),
            Arguments.of("refused.test", TunnelFailure.CONNECT_FAILED, "refused_stream_error", 2));
    }

    @ParameterizedTest(name = "a reset of the CONNECT by {0} fails it as {1}")
    @MethodSource("resets")
    void aResetBeforeTheResponseIsClassified(String host, TunnelFailure expected, String code, int attempts) throws Exception
    {
        ScriptedUpstream scripted = new ScriptedUpstream(buffers);
        toClose.add(scripted);
        Http2ConnectPool pool = pool(100);
        Throwable failure = failureOf(open(pool, scripted.raw(), host + ":443", WAIT));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x ->
        {
            assertThat(x.failure()).isEqualTo(expected);
            assertThat(x.getMessage()).contains(code);
        });
        assertThat(scripted.received(host)).as("CONNECTs sent (REFUSED_STREAM is retried once)").isEqualTo(attempts);
        Await.until("stream slots returned", WAIT, () -> pool.streamCount() == 0, pool::toString);
    }

    @Test
    void noResponseWithinTheResponseTimeoutIsAConnectTimeoutAndResetsTheStream() throws Exception
    {
        ScriptedUpstream scripted = new ScriptedUpstream(buffers);
        toClose.add(scripted);
        Http2ConnectPool pool = pool(100);
        long start = System.nanoTime();
        Throwable failure = failureOf(open(pool, scripted.raw(), "stall.test:443", Duration.ofMillis(300)));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.CONNECT_TIMEOUT));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        Await.until("the upstream saw the reset", WAIT, () -> scripted.resetByClient("stall.test") == 1, () -> scripted.resetByClient);
        Await.until("stream slot returned", WAIT, () -> pool.streamCount() == 0, pool::toString);
    }

    @Test
    void connectFailuresAreClassifiedAndTheNextRequestTriesAgain() throws Exception
    {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            closedPort = probe.getLocalPort();
        }
        Http2ConnectPool pool = pool(100);
        HostPort refused = new HostPort("127.0.0.1", closedPort);
        for (int i = 1; i <= 2; i++)
        {
            Throwable failure = failureOf(open(pool, refused, "target.test:80", WAIT));
            assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.CONNECT_FAILED));
            assertThat(pool.connectAttempts(refused)).isEqualTo(i);
        }
        HostPort unknown = new HostPort("no-such-host.invalid", 443);
        Throwable failure = failureOf(open(pool, unknown, "target.test:80", WAIT));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.DNS_FAILURE));
        assertThat(pool.connectionCount()).isZero();
    }

    @Test
    void requestsBeyondTheQueueBoundAreUnavailableAndAStalledConnectTimesOut() throws Exception
    {
        // A listener that never accepts: the TCP connect completes in the backlog, no SETTINGS ever come.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress()))
        {
            Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), null, null, Duration.ofMillis(300));
            pool.setMaxQueuedPerEndpoint(2);
            HostPort endpoint = new HostPort("127.0.0.1", silent.getLocalPort());
            List<CompletableFuture<InetSocketAddress>> results = new ArrayList<>();
            for (int i = 0; i < 3; i++)
                results.add(open(pool, endpoint, "target.test:443", WAIT));
            assertThat(failureOf(results.get(2))).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.UNAVAILABLE));
            for (int i = 0; i < 2; i++)
                assertThat(failureOf(results.get(i))).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.CONNECT_TIMEOUT));
            assertThat(pool.connectAttempts(endpoint)).isEqualTo(1);
            assertThat(pool.queuedCount(endpoint)).isZero();
        }
    }

    // ---- TLS ----

    private static SslContextFactory.Client trustingTheTestCa()
    {
        SslContextFactory.Client tls = new SslContextFactory.Client();
        tls.setTrustStore(PemCredentials.trustStore(TestCertificates.caPem()));
        tls.setEndpointIdentificationAlgorithm("HTTPS");
        return tls;
    }

    @Test
    void tunnelsShareOneTlsConnectionNegotiatedWithAlpnH2() throws Exception
    {
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), trustingTheTestCa(), null);
        HostPort endpoint = upstream.tls();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        List<Socket> sockets = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 20; i++)
        {
            Socket socket = socket(forwarder.address());
            byte[] payload = Payloads.random(32 * 1024);
            socket.getOutputStream().write(payload);
            sockets.add(socket);
            payloads.add(payload);
        }
        for (int i = 0; i < sockets.size(); i++)
            echoesByteExact(sockets.get(i), payloads.get(i));
        assertThat(forwarder.openFailures).isEmpty();
        assertThat(pool.connectionCount(endpoint)).isEqualTo(1);
        assertThat(upstream.acceptedTls()).isEqualTo(1);
        for (Socket socket : sockets)
            halfCloseAndExpectEof(socket);
    }

    @Test
    void anExplicitSniHostIsTheNameTheCertificateIsCheckedAgainst() throws Exception
    {
        HostPort byAddress = new HostPort("127.0.0.1", upstream.tls().port());
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), trustingTheTestCa(), "localhost");
        TcpToHttp2Forwarder forwarder = forwarder(pool, byAddress, connect(echo.authority()));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(5000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);
        halfCloseAndExpectEof(socket);

        Http2ConnectPool wrongName = pool(100, Duration.ofSeconds(30), trustingTheTestCa(), "not-the-server.test");
        Throwable failure = failureOf(open(wrongName, byAddress, echo.authority(), WAIT));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.TLS_FAILED));
    }

    @Test
    void anUntrustedCertificateIsATlsFailure() throws Exception
    {
        SslContextFactory.Client jvmTrust = new SslContextFactory.Client();
        Http2ConnectPool pool = pool(100, Duration.ofSeconds(30), jvmTrust, null);
        Throwable failure = failureOf(open(pool, upstream.tls(), echo.authority(), WAIT));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.TLS_FAILED));
        assertThat(pool.connectionCount()).isZero();
    }

    @Test
    void stoppingThePoolFailsWaitingRequestsAndAbortsTunnels() throws Exception
    {
        Http2ConnectPool pool = pool(100);
        HostPort endpoint = upstream.plain();
        TcpToHttp2Forwarder forwarder = forwarder(pool, endpoint, connect(echo.authority()));
        Socket socket = socket(forwarder.address());
        byte[] payload = Payloads.random(1000);
        socket.getOutputStream().write(payload);
        echoesByteExact(socket, payload);

        LifeCycle.stop(pool);
        Await.until("tunnel aborted", WAIT, () -> forwarder.openTunnels() == 0, forwarder::outcomes);
        assertThat(forwarder.outcomes()).containsExactly(TunnelFailure.UPSTREAM_RESET);
        Throwable failure = failureOf(open(pool, endpoint, echo.authority(), WAIT));
        assertThat(failure).isInstanceOfSatisfying(TunnelException.class, x -> assertThat(x.failure()).isEqualTo(TunnelFailure.UNAVAILABLE));
    }
}
