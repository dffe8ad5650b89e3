package dev.adit.handler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import dev.adit.config.Http2Config;
import dev.adit.config.PolicyConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelListener;
import dev.adit.embed.AditServerConnector;
import dev.adit.embed.TunnelHttpConnectionFactory;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationPolicy;
import dev.adit.testing.Quiescence;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.TunnelClient;
import dev.adit.testing.TunnelResetException;
import dev.adit.upstream.TcpUpstream;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * POST tunnels (Envoy's {@code allow_post}) through {@link PostTunnelEndPoint}: the request
 * body goes to the target, the response body comes back, over HTTP/1.1 (chunked both ways, a
 * raw-socket client) and h2c (Jetty's low-level {@code HTTP2Client}: HEADERS without
 * END_STREAM, DATA frames, END_STREAM at the end). Each test checks that every tunnel closed
 * and no pooled buffer leaked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostTunnelTest
{
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration SHORT = Duration.ofMillis(500);

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private PostFixture adit;

    @AfterEach
    void closeClientsAndCheckLeaks() throws Exception
    {
        for (int i = toClose.size() - 1; i >= 0; i--)
            toClose.get(i).close();
        if (adit != null)
        {
            adit.assertQuiescentWithoutLeaks();
            assertThat(adit.events.unpaired()).isEmpty();
            adit.close();
        }
    }

    private PostFixture start(UnaryOperator<TunnelConfig> tunnel, Duration connectionIdleTimeout) throws Exception
    {
        adit = new PostFixture(tunnel, connectionIdleTimeout);
        return adit;
    }

    private PostFixture start() throws Exception
    {
        return start(UnaryOperator.identity(), Duration.ofSeconds(30));
    }

    private <T extends AutoCloseable> T closing(T closeable)
    {
        toClose.add(closeable);
        return closeable;
    }

    private TcpTarget target(TcpTarget.Behaviour behaviour) throws Exception
    {
        return closing(new TcpTarget(behaviour));
    }

    /** Opens a POST tunnel to {@code target} over {@code transport} and checks the 200. */
    private dev.adit.testing.Tunnel open(Transport transport, TcpTarget target) throws Exception
    {
        dev.adit.testing.Tunnel tunnel;
        if (transport == Transport.HTTP1)
        {
            tunnel = closing(Http1PostTunnel.open(adit.address(), target.authority(), WAIT));
        }
        else
        {
            Http2TunnelClient client = closing(TunnelClient.connectH2(Transport.H2C, adit.address(),
                Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
            HttpFields fields = HttpFields.build()
                .add(Http1PostTunnel.TARGET_HEADER, target.authority())
                .add("content-type", "application/octet-stream");
            HttpURI uri = HttpURI.build("http://adit.test/");
            tunnel = closing(client.open(new MetaData.Request(HttpMethod.POST.asString(), uri, HttpVersion.HTTP_2, fields), null, WAIT));
        }
        assertThat(tunnel.status()).isEqualTo(200);
        assertThat(tunnel.header("content-type")).isEqualTo("application/octet-stream");
        assertThat(tunnel.header("content-length")).isNull();
        if (transport == Transport.HTTP1)
            assertThat(tunnel.header("transfer-encoding")).isEqualTo("chunked");
        return tunnel;
    }

    private ExecutorService threads()
    {
        ExecutorService threads = Executors.newSingleThreadExecutor();
        toClose.add(threads::shutdownNow);
        return threads;
    }

    static List<Arguments> transportsAndSizes()
    {
        List<Arguments> arguments = new ArrayList<>();
        for (Transport transport : new Transport[]{Transport.HTTP1, Transport.H2C})
        {
            for (int size : new int[]{0, 1, 64 * 1024, 16 << 20})
                arguments.add(Arguments.of(transport, size));
        }
        return arguments;
    }

    @ParameterizedTest(name = "over {0}, {1} random bytes posted come back byte-exact in the response")
    @MethodSource("transportsAndSizes")
    void randomPayloadsAreEchoedByteExact(Transport transport, int size) throws Exception
    {
        start();
        TcpTarget echo = target(TcpTarget.echo());
        byte[] payload = Payloads.random(size);
        dev.adit.testing.Tunnel tunnel = open(transport, echo);

        Future<?> sent = threads().submit(() ->
        {
            tunnel.write(payload);
            tunnel.shutdownOutput();
            return null;
        });
        dev.adit.testing.Tunnel.ReadResult echoed = tunnel.readToEnd(WAIT);
        sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(echoed.count()).as(Payloads.seedNote()).isEqualTo(size);
        assertThat(echoed.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
        assertThat(closed.outcome()).isEqualTo(TunnelFailure.COMPLETED);
        assertThat(closed.fromDownstream()).isEqualTo(size);
        assertThat(closed.fromUpstream()).isEqualTo(size);
    }

    @ParameterizedTest(name = "over {0}, the echo of a chunk arrives while the request body is still open")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void theTunnelIsFullDuplex(Transport transport) throws Exception
    {
        start();
        TcpTarget echo = target(TcpTarget.echo());
        dev.adit.testing.Tunnel tunnel = open(transport, echo);
        for (int i = 0; i < 3; i++)
        {
            byte[] chunk = Payloads.random(1000 + i);
            tunnel.write(chunk);
            // Nothing more is sent until this chunk's echo is back: a half-duplex
            // implementation (one that waits for the end of the request) would time out here.
            assertThat(tunnel.readExactly(chunk.length, WAIT)).as(Payloads.seedNote()).isEqualTo(chunk);
        }
        tunnel.shutdownOutput();
        assertThat(tunnel.readToEnd(WAIT).count()).isZero();
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.COMPLETED);
    }

    @ParameterizedTest(name = "over {0}, the end of the request body is a FIN to the target, whose last bytes still arrive")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void theEndOfTheRequestBodyHalfClosesTheTarget(Transport transport) throws Exception
    {
        start();
        byte[] tail = Payloads.random(50_000);
        TcpTarget target = target(peer ->
        {
            peer.readToEof();
            peer.write(tail, 0, tail.length);
            peer.socket().shutdownOutput();
        });
        byte[] payload = Payloads.random(100_000);
        dev.adit.testing.Tunnel tunnel = open(transport, target);
        tunnel.write(payload);
        tunnel.shutdownOutput();

        // The target saw FIN (its read reached EOF) before it sent anything back.
        TcpTarget.Received received = target.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.count()).isEqualTo(payload.length);
        assertThat(received.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
        // Its answer after the FIN still comes through, then the response ends cleanly.
        dev.adit.testing.Tunnel.ReadResult answer = tunnel.readToEnd(WAIT);
        assertThat(answer.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(tail));
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.COMPLETED);
    }

    /**
     * The target finishing first ends the response body (terminating chunk / END_STREAM) while
     * the request body stays open: the client can go on sending, and the target, which only
     * half-closed, receives it all. The exchange completes when the client ends its body.
     */
    @ParameterizedTest(name = "over {0}, the target finishes first: the response ends and the client can still send")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void theTargetFinishesFirstAndTheClientCanStillSend(Transport transport) throws Exception
    {
        start();
        byte[] first = Payloads.random(100_000);
        byte[] second = Payloads.random(200_000);
        TcpTarget target = target(TcpTarget.sendThenEcho(first));
        dev.adit.testing.Tunnel tunnel = open(transport, target);

        dev.adit.testing.Tunnel.ReadResult fromTarget = tunnel.readToEnd(WAIT);
        assertThat(fromTarget.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(first));
        assertThat(adit.events.open()).as("the tunnel is still open after the response ended").isEqualTo(1);

        tunnel.write(second);
        tunnel.shutdownOutput();
        TcpTarget.Received received = target.received().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(received.count()).isEqualTo(second.length);
        assertThat(received.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(second));

        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
        assertThat(closed.outcome()).isEqualTo(TunnelFailure.COMPLETED);
        assertThat(closed.fromUpstream()).isEqualTo(first.length);
        assertThat(closed.fromDownstream()).isEqualTo(second.length);
    }

    @ParameterizedTest(name = "over {0}, a target reset ends the response abortively")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aTargetResetEndsTheResponseAbortively(Transport transport) throws Exception
    {
        start();
        TcpTarget target = target(TcpTarget.resetAfter(10));
        dev.adit.testing.Tunnel tunnel = open(transport, target);
        tunnel.write(Payloads.random(10));
        // h2: RST_STREAM (Jetty's CANCEL for a failed exchange); h1: the connection closes
        // without the terminating chunk. Either way not a clean end of the body.
        assertThatThrownBy(() -> tunnel.readToEnd(WAIT))
            .isInstanceOfSatisfying(TunnelResetException.class, x ->
            {
                if (transport == Transport.H2C)
                    assertThat(x.errorCode()).isEqualTo(ErrorCode.CANCEL_STREAM_ERROR.code);
            });
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.UPSTREAM_RESET);
    }

    @ParameterizedTest(name = "over {0}, a client reset resets the target's connection")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aClientResetResetsTheTarget(Transport transport) throws Exception
    {
        start();
        TcpTarget target = target(TcpTarget.discard());
        dev.adit.testing.Tunnel tunnel = open(transport, target);
        byte[] payload = Payloads.random(1000);
        tunnel.write(payload);
        awaitBytesFromDownstream(payload.length);
        // h2: RST_STREAM(CANCEL); h1: a TCP reset.
        tunnel.reset();
        // The target's connection is reset, not half-closed: its read fails.
        assertThat(target.received()).failsWithin(WAIT);
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.DOWNSTREAM_RESET);
    }

    /**
     * On h2 only: after the end of an HTTP/1.1 request body Jetty does not read the connection
     * until the exchange completes, so a client's TCP reset in that state is only noticed by
     * the next response write (or the idle timeout).
     */
    @ParameterizedTest(name = "over {0}, a client reset after the end of its body still resets the target")
    @EnumSource(value = Transport.class, names = {"H2C"})
    void aClientResetAfterItsBodyEndedStillResetsTheTarget(Transport transport) throws Exception
    {
        start();
        CountDownLatch resetSent = new CountDownLatch(1);
        CompletableFuture<IOException> targetWriteFailure = new CompletableFuture<>();
        // The target reads to EOF, stays quiet (the response stays open), and after the client's
        // reset finds its connection reset: a write fails. It writes until then: Adit's reset
        // leaves when its selector next selects, which may be a moment after the tunnel's close
        // was reported, and loopback buffers take a megabyte or more meanwhile.
        TcpTarget target = target(peer ->
        {
            peer.readToEof();
            try
            {
                if (!resetSent.await(WAIT.toSeconds(), TimeUnit.SECONDS))
                    return;
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (System.nanoTime() - deadline < 0)
                    peer.write(new byte[1024], 0, 1024);
            }
            catch (IOException x)
            {
                targetWriteFailure.complete(x);
            }
            catch (InterruptedException x)
            {
                Thread.currentThread().interrupt();
            }
        });
        dev.adit.testing.Tunnel tunnel = open(transport, target);
        tunnel.write(Payloads.random(100));
        tunnel.shutdownOutput();
        assertThat(target.received().get(WAIT.toSeconds(), TimeUnit.SECONDS).count()).isEqualTo(100);
        // Nothing is pending on the request now (its body ended, the target is quiet):
        // Jetty reports the reset through the request's failure listener.
        tunnel.reset();
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.DOWNSTREAM_RESET);
        resetSent.countDown();
        assertThat(targetWriteFailure).succeedsWithin(WAIT);
    }

    @ParameterizedTest(name = "over {0}, a quiet POST tunnel is reset after the tunnel idle timeout")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aQuietTunnelIsResetAfterTheIdleTimeout(Transport transport) throws Exception
    {
        start(tunnel -> tunnel.withIdleTimeout(SHORT), Duration.ofSeconds(30));
        TcpTarget echo = target(TcpTarget.echo());
        dev.adit.testing.Tunnel tunnel = open(transport, echo);
        tunnel.write(Payloads.random(10));
        assertThat(tunnel.readExactly(10, WAIT)).hasSize(10);
        assertThatThrownBy(() -> tunnel.read(new byte[16], WAIT)).isInstanceOf(TunnelResetException.class);
        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
        assertThat(closed.outcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
    }

    /**
     * The client ends its request body and the target never reads nor answers: with a small
     * body it all reaches the target's socket, with a large one a write to the target stays
     * pending. The request may be complete by then, so the target's side must idle it out.
     */
    @ParameterizedTest(name = "over {0}, a POST tunnel whose body ended and whose target stalls idles out after {1} bytes")
    @MethodSource("transportsAndStallSizes")
    void aPostTunnelToAStalledTargetIdlesOut(Transport transport, int size) throws Exception
    {
        start(tunnel -> tunnel.withIdleTimeout(SHORT), Duration.ofSeconds(30));
        TcpTarget stalled = target(TcpTarget.stall());
        dev.adit.testing.Tunnel tunnel = open(transport, stalled);
        tunnel.sendEndAndAwaitReset(Payloads.random(size), WAIT);
        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
        assertThat(closed.outcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
        assertThat(closed.fromUpstream()).isZero();
    }

    static List<Arguments> transportsAndStallSizes()
    {
        List<Arguments> arguments = new ArrayList<>();
        for (Transport transport : new Transport[]{Transport.HTTP1, Transport.H2C})
        {
            for (int size : new int[]{1000, 32 << 20})
                arguments.add(Arguments.of(transport, size));
        }
        return arguments;
    }

    @ParameterizedTest(name = "over {0}, a quiet POST tunnel outlives the connection idle timeout")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aQuietTunnelOutlivesTheConnectionIdleTimeout(Transport transport) throws Exception
    {
        // Connections idle out after 300 ms, tunnels after an hour: the tunnel's timeout wins.
        start(UnaryOperator.identity(), Duration.ofMillis(300));
        TcpTarget echo = target(TcpTarget.echo());
        dev.adit.testing.Tunnel tunnel = open(transport, echo);
        assertThatThrownBy(() -> tunnel.read(new byte[16], Duration.ofMillis(1500)))
            .isInstanceOf(java.util.concurrent.TimeoutException.class);
        byte[] payload = Payloads.random(1000);
        tunnel.write(payload);
        assertThat(tunnel.readExactly(payload.length, WAIT)).isEqualTo(payload);
        tunnel.shutdownOutput();
        assertThat(tunnel.readToEnd(WAIT).count()).isZero();
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.COMPLETED);
    }

    @Test
    void anHttp1ConnectionIsReusedAfterACleanPostTunnel() throws Exception
    {
        start();
        TcpTarget echo = target(TcpTarget.echo());
        Http1PostTunnel first = (Http1PostTunnel)open(Transport.HTTP1, echo);
        byte[] one = Payloads.random(5000);
        first.write(one);
        first.shutdownOutput();
        assertThat(first.readToEnd(WAIT).sha256()).isEqualTo(Payloads.sha256(one));

        // The exchange completed cleanly, so Jetty keeps the connection for the next request.
        Http1PostTunnel second = closing(first.next(echo.authority(), WAIT));
        assertThat(second.status()).isEqualTo(200);
        byte[] two = Payloads.random(7000);
        second.write(two);
        second.shutdownOutput();
        assertThat(second.readToEnd(WAIT).sha256()).isEqualTo(Payloads.sha256(two));
        assertThat(adit.events.awaitClosed(2, WAIT)).allSatisfy(c -> assertThat(c.outcome()).isEqualTo(TunnelFailure.COMPLETED));
    }

    @Test
    void anHttp1ConnectionGetsItsIdleTimeoutBackAfterAPostTunnel() throws Exception
    {
        // The tunnel (idle timeout 1 h) disables the connection's 1 s idle timeout while it
        // runs; once the exchange completed, Jetty closes the idle connection after 1 s again.
        start(UnaryOperator.identity(), Duration.ofSeconds(1));
        TcpTarget echo = target(TcpTarget.echo());
        Http1PostTunnel tunnel = (Http1PostTunnel)open(Transport.HTTP1, echo);
        // Quiet for longer than the connection idle timeout: the tunnel survives.
        assertThatThrownBy(() -> tunnel.read(new byte[1], Duration.ofMillis(1500)))
            .isInstanceOf(java.util.concurrent.TimeoutException.class);
        tunnel.shutdownOutput();
        assertThat(tunnel.readToEnd(WAIT).count()).isZero();
        long ended = System.nanoTime();
        assertThat(tunnel.awaitServerClose(WAIT)).as("the server closes the idle connection").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - ended)).isLessThan(Duration.ofSeconds(10));
        assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.COMPLETED);
    }

    @ParameterizedTest(name = "over {0}, an unreachable target gets 502 and no tunnel")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void anUnreachableTargetGets502(Transport transport) throws Exception
    {
        start();
        TcpTarget gone = new TcpTarget(TcpTarget.discard());
        gone.close();
        if (transport == Transport.HTTP1)
        {
            try (Http1PostTunnel tunnel = Http1PostTunnel.open(adit.address(), gone.authority(), WAIT))
            {
                assertThat(tunnel.status()).isEqualTo(502);
            }
        }
        else
        {
            // Jetty follows the 502 with RST_STREAM(CANCEL), as the request body was not read
            // (RFC 9113 §8.1 allows a response before the end of the request): look at the head only.
            try (Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, adit.address(),
                Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW))
            {
                HttpFields fields = HttpFields.build().add(Http1PostTunnel.TARGET_HEADER, gone.authority());
                var request = new MetaData.Request(HttpMethod.POST.asString(), HttpURI.build("http://adit.test/"), HttpVersion.HTTP_2, fields);
                CompletableFuture<Integer> status = new CompletableFuture<>();
                client.session().newStream(new HeadersFrame(request, null, false), new Stream.Listener()
                {
                    @Override
                    public void onHeaders(Stream stream, HeadersFrame frame)
                    {
                        if (frame.getMetaData() instanceof MetaData.Response response)
                            status.complete(response.getStatus());
                    }
                });
                assertThat(status.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(502);
            }
        }
        assertThat(adit.events.opened()).isZero();
    }

    private void awaitBytesFromDownstream(long n) throws InterruptedException
    {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (adit.handler.bytesFromDownstream() < n)
        {
            if (System.nanoTime() > deadline)
                fail("the tunnel did not forward " + n + " bytes within " + WAIT);
            adit.events.awaitChange(20);
        }
    }

    /**
     * A Jetty server on loopback port 0 shaped like Adit's plain listener (HTTP/1.1 from
     * {@link TunnelHttpConnectionFactory} and h2c on {@link AditServerConnector}, HTTP/2 sized
     * as {@link Http2Config#DEFAULTS} and rate controlled as {@link Http2TunnelResets} says) with a
     * leak-tracking pool and the test-only {@link PostTunnelHandler} as its handler.
     */
    static final class PostFixture
    {
        final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
        final AditFixture.Events events = new AditFixture.Events();
        final PostTunnelHandler handler;
        private final Server server;
        private final ServerConnector connector;

        PostFixture(UnaryOperator<TunnelConfig> tunnel, Duration connectionIdleTimeout) throws Exception
        {
            TunnelConfig tunnelConfig = tunnel.apply(TunnelConfig.DEFAULTS.withConnectTimeout(Duration.ofSeconds(1)));
            QueuedThreadPool threads = new QueuedThreadPool();
            threads.setName("adit-post");
            server = new Server(threads, null, pool);

            HttpConfiguration http = new HttpConfiguration();
            HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(http);
            Http2Config h2 = Http2Config.DEFAULTS;
            h2c.setInitialStreamRecvWindow(h2.initialStreamWindow().toIntBytes());
            h2c.setInitialSessionRecvWindow(h2.initialSessionWindow().toIntBytes());
            h2c.setStreamIdleTimeout(h2.streamIdleTimeout().toMillis());
            Http2TunnelResets.install(h2c);
            connector = new AditServerConnector(server, new TunnelHttpConnectionFactory(http), h2c);
            connector.setHost("127.0.0.1");
            connector.setPort(0);
            connector.setIdleTimeout(connectionIdleTimeout.toMillis());
            server.addConnector(connector);

            ClientConnector client = new ClientConnector();
            client.setExecutor(threads);
            client.setScheduler(server.getScheduler());
            client.setByteBufferPool(pool);
            PolicyConfig policy = new PolicyConfig(List.of("*"), List.of(), false);
            TcpUpstream upstream = new TcpUpstream(client, DestinationPolicy.of(policy), tunnelConfig.connectTimeout());
            handler = new PostTunnelHandler(tunnelConfig, upstream, events);
            server.setHandler(handler);
            server.setStopTimeout(0);
            server.start();
        }

        InetSocketAddress address()
        {
            return new InetSocketAddress("127.0.0.1", connector.getLocalPort());
        }

        void assertQuiescentWithoutLeaks() throws InterruptedException
        {
            Quiescence.assertNoOpenTunnelsNorLeaks(pool, events::open, events::awaitChange, Duration.ofSeconds(10));
        }

        void close() throws Exception
        {
            server.stop();
        }
    }

    /**
     * Test-only: a POST whose {@code X-Adit-Target} header names a target becomes a POST
     * tunnel to it once the TCP connection is up; 502 if it cannot be made.
     */
    static final class PostTunnelHandler extends Handler.Abstract.NonBlocking
    {
        private final TunnelConfig config;
        private final TcpUpstream upstream;
        private final TunnelListener listener;
        private volatile Tunnel last;

        PostTunnelHandler(TunnelConfig config, TcpUpstream upstream, TunnelListener listener)
        {
            this.config = config;
            this.upstream = upstream;
            this.listener = listener;
            installBean(upstream);
        }

        long bytesFromDownstream()
        {
            Tunnel tunnel = last;
            return tunnel == null ? 0 : tunnel.bytesFromDownstream();
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception
        {
            String target = request.getHeaders().get(Http1PostTunnel.TARGET_HEADER);
            if (!HttpMethod.POST.is(request.getMethod()) || target == null)
                return false;
            Authority authority = Authority.parse(target);
            Tunnel tunnel = new Tunnel(authority.toString(), request.getConnectionMetaData().getHttpVersion().asString(),
                config, request.getComponents().getByteBufferPool(), request.getComponents().getScheduler(), listener);
            last = tunnel;
            upstream.connect(authority, tunnel, new Promise<>()
            {
                @Override
                public void succeeded(InetSocketAddress address)
                {
                    PostTunnel.start(request, response, callback, tunnel);
                }

                @Override
                public void failed(Throwable x)
                {
                    tunnel.dispose(x);
                    Response.writeError(request, response, callback, HttpStatus.BAD_GATEWAY_502);
                }
            });
            return true;
        }
    }
}
