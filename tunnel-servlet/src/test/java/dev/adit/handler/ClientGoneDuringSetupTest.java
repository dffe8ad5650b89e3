package dev.adit.handler;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import dev.adit.log.JsonLine;
import dev.adit.testing.Payloads;
import dev.adit.testing.Transport;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Connection;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FuturePromise;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * A client that goes away while its tunnel is being set up, at each point of the setup, still
 * gets exactly one access-log line per tunnel, and nothing is left behind: no open tunnel, no
 * leaked buffer, no upstream connection.
 *
 * <p>The upstream is a scripted HTTP/1.1 proxy that answers each CONNECT with 200 only when the
 * test lets it ({@link GatedProxy}), so that "the client reset before the 200" is an ordering
 * the test makes, not one it hopes for. The other timings race the 200 on purpose, many times.</p>
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClientGoneDuringSetupTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int TUNNELS = 25;
    private static final String TARGET = "127.0.0.1:9";
    private static final int EARLY = 1000;

    /** When the client goes away. */
    enum When
    {
        /** Once Adit is waiting for its upstream and before it answers: the 200 meets a reset stream or socket. */
        BEFORE_THE_200,
        /** Right after sending the request: the reset races the whole setup. */
        AT_ONCE,
        /** As soon as the 200 arrives: the reset races the switch to the tunnel. */
        ON_THE_200
    }

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    /**
     * Adit proxying every CONNECT to {@code proxy} over HTTP/1.1, and terminating POST tunnels
     * to {@code /tunnel/...} at {@code target}.
     */
    private static Map<String, String> properties(GatedProxy proxy, GatedProxy target)
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "post,all");
        p.put("adit.route.post.allow-post", "true");
        p.put("adit.route.post.match.path-prefix", "/tunnel/");
        p.put("adit.route.post.cluster", "target");
        p.put("adit.cluster.target.endpoints", "127.0.0.1:" + target.port());
        p.put("adit.route.all.action", "proxy");
        p.put("adit.route.all.cluster", "up");
        p.put("adit.cluster.up.endpoints", "127.0.0.1:" + proxy.port());
        p.put("adit.cluster.up.protocol", "http1");
        p.put("adit.tunnel.connect-timeout", "20s");
        return p;
    }

    /*
     * POST tunnels are terminated: Adit answers once the TCP connect succeeded, which a test
     * cannot hold back, so "before the 200" is a CONNECT-only case.
     *
     * A request reset at once may be gone before Jetty hands it to Adit: then there is no
     * tunnel and nothing to log. What is counted is the tunnels Adit took, which each made one
     * upstream connection.
     */
    @ParameterizedTest(name = "{0} {1}, client reset {2}: one access-log line per tunnel")
    @CsvSource({
        "H2C, CONNECT, BEFORE_THE_200", "H2C, CONNECT, AT_ONCE", "H2C, CONNECT, ON_THE_200",
        "HTTP1, CONNECT, BEFORE_THE_200", "HTTP1, CONNECT, AT_ONCE", "HTTP1, CONNECT, ON_THE_200",
        "H2C, POST, AT_ONCE", "H2C, POST, ON_THE_200",
        "HTTP1, POST, AT_ONCE", "HTTP1, POST, ON_THE_200"})
    void everyTunnelAClientAbandonsIsLoggedOnce(Transport transport, String method, When when) throws Exception
    {
        GatedProxy proxy = started.add(new GatedProxy(true));
        GatedProxy target = started.add(new GatedProxy(false));
        AditFixture adit = started.adit(properties(proxy, target));
        GatedProxy upstream = method.equals("POST") ? target : proxy;
        if (when != When.BEFORE_THE_200)
            upstream.open(TUNNELS);
        try (Client client = transport.isHttp2() ? new H2Client(adit.address(transport)) : new H1Client(adit.address(transport)))
        {
            for (int i = 1; i <= TUNNELS; i++)
            {
                client.open(method, when);
                if (when == When.BEFORE_THE_200)
                {
                    int requests = i;
                    until("upstream request " + i, () -> upstream.requests() == requests, upstream::requests);
                    client.reset();
                    // Over HTTP/2 Adit hears of the reset before it answers; over HTTP/1.1 it
                    // learns only when it writes the 200.
                    until("Adit saw the reset of stream " + i, () -> openHttp2Streams(adit) == 0, () -> openHttp2Streams(adit));
                    upstream.open(1);
                }
                int atLeast = when == When.AT_ONCE ? 0 : i;
                until("one access-log line per upstream connection after tunnel " + i,
                    () -> upstream.ended() == upstream.accepted() && adit.accessLog.all().size() == upstream.accepted() && upstream.accepted() >= atLeast,
                    () -> "accepted " + upstream.accepted() + ", ended " + upstream.ended() + ", lines " + adit.accessLog.all()
                        + ", closed " + adit.events.closed() + ", refused " + adit.events.refused());
            }
        }
        List<String> lines = adit.accessLog.all();
        if (when != When.AT_ONCE)
            assertThat(lines).hasSize(TUNNELS);
        for (String line : lines)
            assertThat(JsonLine.parse(line)).as(line).containsEntry("response_flags", "DC");
        until("Adit closed every client connection", () -> connectedEndPoints(adit) == 0, () -> connectedEndPoints(adit));
    }

    @Test
    void aResetBetweenThe200AndTheHandlersReturnIsLoggedToo() throws Exception
    {
        // Jetty completes an exchange, and upgrades it, only once the handler has returned. When
        // the upstream answers first, the 200 is out while the handler is still running, and
        // the client may reset the stream before the upgrade: Jetty then skips it.
        CountDownLatch handlerMayReturn = new CountDownLatch(1);
        GatedProxy proxy = started.add(new GatedProxy(true));
        GatedProxy target = started.add(new GatedProxy(false));
        proxy.open(1);
        AditFixture adit = started.add(AditFixture.start(properties(proxy, target), handler -> new Handler.Wrapper(handler)
        {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception
            {
                boolean handled = super.handle(request, response, callback);
                assertThat(handlerMayReturn.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("the test let the handler return").isTrue();
                return handled;
            }

            @Override
            public InvocationType getInvocationType()
            {
                return InvocationType.BLOCKING;
            }
        }));
        try (H2Client client = new H2Client(adit.address(Transport.H2C)))
        {
            client.open("CONNECT", When.ON_THE_200);
            until("Adit saw the reset", () -> proxy.requests() == 1 && openHttp2Streams(adit) == 0, () -> proxy.requests() + " " + openHttp2Streams(adit));
            handlerMayReturn.countDown();
            until("one access-log line and the upstream connection ended", () -> adit.accessLog.all().size() == 1 && proxy.ended() == 1,
                () -> "ended " + proxy.ended() + ", lines " + adit.accessLog.all());
        }
        assertThat(JsonLine.parse(adit.accessLog.all().get(0))).containsEntry("response_flags", "DC");
    }

    /** Polls {@code condition}, which has no event to wait on, for at most {@link #TIMEOUT}. */
    private static void until(String what, BooleanSupplier condition, Supplier<Object> state)
    {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
                fail(what + " not reached within " + TIMEOUT + "; state: " + state.get());
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    /** Streams open on Adit's side of the HTTP/2 connections it accepted. */
    private static int openHttp2Streams(AditFixture adit)
    {
        int streams = 0;
        for (Connector connector : adit.server.getConnectors())
        {
            for (EndPoint endPoint : connector.getConnectedEndPoints())
            {
                if (endPoint.getConnection() instanceof HTTP2Connection http2)
                    streams += http2.getSession().getStreams().size();
            }
        }
        return streams;
    }

    private static int connectedEndPoints(AditFixture adit)
    {
        int count = 0;
        for (Connector connector : adit.server.getConnectors())
            count += connector.getConnectedEndPoints().size();
        return count;
    }

    /** Opens tunnel requests one at a time and abandons each. */
    private interface Client extends AutoCloseable
    {
        /** Sends a tunnel request; {@link When#AT_ONCE} and {@link When#ON_THE_200} also abandon it. */
        void open(String method, When when) throws Exception;

        /** Abandons the last request (a reset stream, or a reset socket). */
        void reset() throws Exception;
    }

    /** Frame-level HTTP/2: HEADERS without END_STREAM, then RST_STREAM(CANCEL). */
    private static final class H2Client implements Client
    {
        private final HTTP2Client client = new HTTP2Client();
        private final Session session;
        private volatile Stream last;

        H2Client(InetSocketAddress address) throws Exception
        {
            client.start();
            session = client.connect(address, new Session.Listener() {}).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }

        @Override
        public void open(String method, When when) throws Exception
        {
            MetaData.Request request = method.equals("CONNECT")
                ? new MetaData.ConnectRequest((String)null, new HostPortHttpField(TARGET), null, HttpFields.EMPTY, null)
                : new MetaData.Request("POST", HttpURI.build().scheme(HttpScheme.HTTP).host("127.0.0.1").port(9).path("/tunnel/x"), HttpVersion.HTTP_2, HttpFields.EMPTY);
            FuturePromise<Stream> created = new FuturePromise<>();
            session.newStream(new HeadersFrame(request, null, false), created, new Stream.Listener()
            {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame)
                {
                    if (when == When.ON_THE_200 && frame.getMetaData() instanceof MetaData.Response response && response.getStatus() == 200)
                        stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
                }
            });
            last = created.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            // Early bytes, waiting in the stream: they must be released whatever happens. Sent
            // before any reset of ours (one session, frames in order); a reset stream drops them.
            last.data(new DataFrame(last.getId(), ByteBuffer.wrap(Payloads.random(EARLY)), false), Callback.NOOP);
            if (when == When.AT_ONCE)
                reset();
        }

        @Override
        public void reset() throws Exception
        {
            Stream stream = last;
            FuturePromise<Void> sent = new FuturePromise<>();
            stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.from(() -> sent.succeeded(null), sent::failed));
            sent.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception
        {
            client.stop();
        }
    }

    /** HTTP/1.1 on raw sockets, one per request, abandoned with a TCP reset (SO_LINGER 0). */
    private static final class H1Client implements Client
    {
        private final InetSocketAddress address;
        private Socket socket;

        H1Client(InetSocketAddress address)
        {
            this.address = address;
        }

        @Override
        public void open(String method, When when) throws Exception
        {
            socket = new Socket();
            socket.connect(address, (int)TIMEOUT.toMillis());
            socket.setSoTimeout((int)TIMEOUT.toMillis());
            // With early bytes: pipelined after the CONNECT, a first chunk of the POST body.
            String head = method.equals("CONNECT")
                ? "CONNECT " + TARGET + " HTTP/1.1\r\nHost: " + TARGET + "\r\n\r\n"
                : "POST /tunnel/x HTTP/1.1\r\nHost: " + TARGET + "\r\nTransfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(EARLY) + "\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(Payloads.random(EARLY));
            if (method.equals("POST"))
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            if (when == When.ON_THE_200)
                assertThat(GatedProxy.readHead(socket.getInputStream())).startsWith("HTTP/1.1 200");
            if (when != When.BEFORE_THE_200)
                reset();
        }

        @Override
        public void reset() throws IOException
        {
            socket.setSoLinger(true, 0);
            socket.close();
        }

        @Override
        public void close() throws IOException
        {
            if (socket != null)
                socket.close();
        }
    }
}
