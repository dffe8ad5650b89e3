package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.adit.config.HostPort;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.api.server.ServerSessionListener;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.RawHTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Upstream proxies that misbehave on purpose, picked by the CONNECT target's host:
 *
 * <ul>
 * <li>{@link #refusing()}: a Jetty server with a {@link Handler} that refuses CONNECT
 * {@code auth.test} with 407 and {@code Proxy-Authenticate}, {@code forbidden.test} with 403,
 * {@code busy.test} with 503 and {@code Retry-After}, {@code big.test} with 502 and a 100 KiB
 * body; each with a text body.</li>
 * <li>{@link #raw()}: a frame-level HTTP/2 server: {@code connect-error.test} and
 * {@code protocol-error.test} reset the stream with that code, {@code refused.test} with
 * REFUSED_STREAM, {@code stall.test} never answers, {@code greeting.test} answers 200 and
 * "hello\n" at once, then END_STREAM, and discards what the client sends.</li>
 * </ul>
 */
final class ScriptedUpstream implements AutoCloseable
{
    static final int BIG_BODY = 100 * 1024;
    static final String GREETING = "hello\n";

    /** CONNECTs received by the raw server, by host. */
    final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
    /** Streams the client reset on the raw server, by host. */
    final Map<String, AtomicInteger> resetByClient = new ConcurrentHashMap<>();
    private final Server server;
    private final ServerConnector refusing;
    private final ServerConnector raw;

    ScriptedUpstream(ByteBufferPool buffers) throws Exception
    {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("scripted-upstream");
        server = new Server(threads, null, buffers);
        HttpConfiguration http = new HttpConfiguration();
        HTTP2CServerConnectionFactory h2c = new HTTP2CServerConnectionFactory(http);
        h2c.setStreamIdleTimeout(30_000);
        refusing = connector(h2c);
        RawHTTP2ServerConnectionFactory frames = new RawHTTP2ServerConnectionFactory(http, new Frames(), "h2c");
        frames.setStreamIdleTimeout(30_000);
        raw = connector(frames);
        server.setHandler(new Refusals());
        server.setStopTimeout(0);
        server.start();
    }

    private ServerConnector connector(org.eclipse.jetty.server.ConnectionFactory factory)
    {
        ServerConnector connector = new ServerConnector(server, 1, 1, factory);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        return connector;
    }

    HostPort refusing()
    {
        return new HostPort("127.0.0.1", refusing.getLocalPort());
    }

    HostPort raw()
    {
        return new HostPort("127.0.0.1", raw.getLocalPort());
    }

    int received(String host)
    {
        return received.getOrDefault(host, new AtomicInteger()).get();
    }

    int resetByClient(String host)
    {
        return resetByClient.getOrDefault(host, new AtomicInteger()).get();
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }

    private static final class Refusals extends Handler.Abstract.NonBlocking
    {
        @Override
        public boolean handle(Request request, Response response, Callback callback)
        {
            if (!HttpMethod.CONNECT.is(request.getMethod()))
                return false;
            String body;
            switch (request.getHttpURI().getHost())
            {
                case "auth.test" ->
                {
                    response.setStatus(407);
                    response.getHeaders().put(HttpHeader.PROXY_AUTHENTICATE, "Basic realm=\"upstream\"");
                    body = "proxy authentication required\n";
                }
                case "forbidden.test" ->
                {
                    response.setStatus(403);
                    body = "forbidden by the upstream\n";
                }
                case "busy.test" ->
                {
                    response.setStatus(503);
                    response.getHeaders().put(HttpHeader.RETRY_AFTER, "7");
                    body = "busy\n";
                }
                case "big.test" ->
                {
                    response.setStatus(502);
                    body = "x".repeat(BIG_BODY);
                }
                default ->
                {
                    return false;
                }
            }
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain;charset=utf-8");
            response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }
    }

    private final class Frames implements ServerSessionListener
    {
        @Override
        public Stream.Listener onNewStream(Stream stream, HeadersFrame frame)
        {
            MetaData.Request request = (MetaData.Request)frame.getMetaData();
            String host = request.getHttpURI().getHost();
            received.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
            Stream.Listener listener = new Stream.Listener()
            {
                @Override
                public void onReset(Stream stream, ResetFrame frame, Callback callback)
                {
                    resetByClient.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
                    callback.succeeded();
                }
            };
            switch (host)
            {
                case "connect-error.test" -> stream.reset(new ResetFrame(stream.getId(), ErrorCode.HTTP_CONNECT_ERROR.code), Callback.NOOP);
                case "protocol-error.test" -> stream.reset(new ResetFrame(stream.getId(), ErrorCode.PROTOCOL_ERROR.code), Callback.NOOP);
                case "refused.test" -> stream.reset(new ResetFrame(stream.getId(), ErrorCode.REFUSED_STREAM_ERROR.code), Callback.NOOP);
                case "greeting.test" ->
                {
                    MetaData.Response ok = new MetaData.Response(200, null, HttpVersion.HTTP_2, HttpFields.EMPTY);
                    ByteBuffer hello = ByteBuffer.wrap(GREETING.getBytes(StandardCharsets.UTF_8));
                    stream.headers(new HeadersFrame(stream.getId(), ok, null, false),
                        Callback.from(() -> stream.data(new DataFrame(stream.getId(), hello, true), Callback.NOOP)));
                    // Discard whatever the client sends, to its END_STREAM (Listener's default).
                    stream.demand();
                }
                default ->
                {
                    // stall.test and anything else: no answer.
                }
            }
            return listener;
        }
    }
}
