package dev.adit.testing;

import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * {@link TunnelClient} for {@link Transport#H2C} (prior knowledge) and {@link Transport#H2}
 * (TLS, ALPN {@code h2}, trust-all): one Jetty {@link HTTP2Client} and one {@link Session};
 * each {@link Http2Tunnel} is a CONNECT stream on it, so many tunnels share one connection.
 *
 * <p>Settings: receive windows as given (default 8 MiB per stream, 32 MiB per session), a
 * stream idle timeout of 60 s set explicitly (0 would copy the connection idle timeout), a
 * connection idle timeout of 120 s. Threads are daemons named {@code h2-tunnel-client-N-*}
 * and stop on {@link #close()}. The peer's MAX_CONCURRENT_STREAMS is not queued for: a stream
 * beyond it fails {@code open} with Jetty's {@code IllegalStateException}.
 */
public final class Http2TunnelClient implements TunnelClient {
    public static final int DEFAULT_STREAM_WINDOW = 8 * 1024 * 1024;
    public static final int DEFAULT_SESSION_WINDOW = 32 * 1024 * 1024;
    public static final Duration STREAM_IDLE_TIMEOUT = Duration.ofSeconds(60);
    /** Thread-name prefix of every client's threads, for leak checks. */
    public static final String THREAD_PREFIX = "h2-tunnel-client-";
    private static final AtomicInteger IDS = new AtomicInteger();

    private final Transport transport;
    private final HTTP2Client client;
    private final QueuedThreadPool threads;
    private final ScheduledExecutorScheduler scheduler;
    private final int streamWindow;
    private final CompletableFuture<GoAwayFrame> goAway = new CompletableFuture<>();
    private final CompletableFuture<Throwable> ended = new CompletableFuture<>();
    private volatile Session session;

    private Http2TunnelClient(Transport transport, int streamWindow, int sessionWindow, SSLContext tls) {
        if (!transport.isHttp2()) {
            throw new IllegalArgumentException("transport: " + transport + " (expected: H2C or H2)");
        }
        this.transport = transport;
        this.streamWindow = streamWindow;
        String name = THREAD_PREFIX + IDS.incrementAndGet();
        threads = new QueuedThreadPool();
        threads.setName(name);
        threads.setDaemon(true);
        scheduler = new ScheduledExecutorScheduler(name + "-scheduler", true);
        ClientConnector connector = new ClientConnector();
        connector.setExecutor(threads);
        connector.setScheduler(scheduler);
        connector.setConnectTimeout(Duration.ofSeconds(10));
        if (transport.isTls()) {
            SslContextFactory.Client factory = TrustAll.jettyClient();
            if (tls != null) {
                factory.setSslContext(tls);
            }
            connector.setSslContextFactory(factory);
        }
        client = new HTTP2Client(connector);
        client.setInitialStreamRecvWindow(streamWindow);
        client.setInitialSessionRecvWindow(sessionWindow);
        client.setStreamIdleTimeout(STREAM_IDLE_TIMEOUT.toMillis());
        client.setIdleTimeout(120_000);
    }

    /** Starts the client and connects the session within {@link TunnelClient#CONNECT_TIMEOUT}. */
    static Http2TunnelClient connect(Transport transport, InetSocketAddress proxy, int streamWindow, int sessionWindow) throws Exception {
        return connect(transport, proxy, streamWindow, sessionWindow, null);
    }

    /** As above, over TLS with {@code tls}; null for the trust-all context without a client certificate. */
    static Http2TunnelClient connect(Transport transport, InetSocketAddress proxy, int streamWindow, int sessionWindow, SSLContext tls) throws Exception {
        Http2TunnelClient h2 = new Http2TunnelClient(transport, streamWindow, sessionWindow, tls);
        try {
            h2.client.start();
            PeerSettingsListener listener = new PeerSettingsListener() {
                @Override
                public void onGoAway(Session session, GoAwayFrame frame) {
                    h2.goAway.complete(frame);
                }

                @Override
                public void onClose(Session session, GoAwayFrame frame, Callback callback) {
                    h2.ended.complete(null);
                    super.onClose(session, frame, callback);
                }

                @Override
                public void onFailure(Session session, Throwable failure, Callback callback) {
                    h2.ended.complete(failure);
                    super.onFailure(session, failure, callback);
                }
            };
            h2.session = connect(h2.client, transport, proxy, listener).get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return h2;
        } catch (Exception | Error x) {
            h2.close();
            throw x;
        }
    }

    /**
     * Connects a session of {@code client} to {@code proxy} and completes once the proxy's first
     * SETTINGS have been applied, not merely once this side's preface was written (which is when
     * Jetty's own future completes).
     *
     * <p>Why: Jetty 12.1.12's {@code HTTP2Client} can give a stream created while the peer's
     * first SETTINGS are being applied the initial window twice. {@code HTTP2Session.createLocalStream}
     * registers the stream before {@code AbstractFlowControlStrategy.onStreamCreated} reads the
     * initial send window, while {@code updateInitialStreamWindow} stores the new initial window
     * and then adds the difference to every registered stream: a stream in between gets 8 MiB +
     * (8 MiB - 64 KiB) against the proxy's 8 MiB, over-sends, and the proxy rightly ends the whole
     * connection with FLOW_CONTROL_ERROR (RST_STREAM on every stream, then GOAWAY). Seen once in
     * the bench's uploads; about one stream in 30,000 opened in a loop right after connecting.
     */
    public static CompletableFuture<Session> connect(HTTP2Client client, Transport transport, InetSocketAddress proxy, PeerSettingsListener listener) {
        CompletableFuture<Session> connecting = transport.isTls()
            ? client.connect(client.getClientConnector().getSslContextFactory(), proxy, listener)
            : client.connect(proxy, listener);
        // Not thenCombine: it would wait for both, and a failed connect never makes a session to notify.
        return connecting.thenCompose(session -> listener.applied().thenApply(settings -> session));
    }

    /**
     * A session listener that knows when the peer's first SETTINGS have been applied (Jetty calls
     * {@code onSettings} after applying them); subclasses that override {@code onSettings},
     * {@code onClose} or {@code onFailure} call {@code super}.
     */
    public static class PeerSettingsListener implements Session.Listener {
        private final CompletableFuture<Void> applied = new CompletableFuture<>();

        /** Completes when the peer's first SETTINGS have been applied; fails if the session ends first. */
        public CompletableFuture<Void> applied() {
            return applied;
        }

        @Override
        public void onSettings(Session session, SettingsFrame frame) {
            applied.complete(null);
        }

        @Override
        public void onClose(Session session, GoAwayFrame frame, Callback callback) {
            applied.completeExceptionally(new ClosedChannelException());
            callback.succeeded();
        }

        @Override
        public void onFailure(Session session, Throwable failure, Callback callback) {
            applied.completeExceptionally(failure);
            callback.succeeded();
        }
    }

    @Override
    public Transport transport() {
        return transport;
    }

    /** The HTTP/2 session all tunnels of this client share. */
    public Session session() {
        return session;
    }

    /** The name prefix of this client's threads ({@code h2-tunnel-client-N}), for leak checks. */
    public String threadNamePrefix() {
        return threads.getName();
    }

    public HTTP2Client client() {
        return client;
    }

    /** Streams currently open on the session (as Jetty counts them). */
    public int openStreamCount() {
        return session.getStreams().size();
    }

    /** Completes when the proxy sent GOAWAY. */
    public CompletableFuture<GoAwayFrame> goAway() {
        return goAway;
    }

    /**
     * Completes when the session ended: with null when it was closed (after a GOAWAY either way),
     * with the failure when it failed (the connection broken under it, a protocol error).
     */
    public CompletableFuture<Throwable> ended() {
        return ended;
    }

    /** Plain CONNECT (RFC 9113 §8.5): only {@code :method} and {@code :authority}. */
    @Override
    public Http2Tunnel open(String authority, Map<String, String> headers, byte[] early, Duration timeout) throws Exception {
        var request = new MetaData.ConnectRequest((String) null, new HostPortHttpField(authority), null, fields(headers), null);
        return Http2Tunnel.open(this, request, early, timeout);
    }

    /**
     * Extended CONNECT (RFC 8441): {@code :protocol} (e.g. {@code "bytestream"}), {@code :scheme}
     * of the transport, {@code :path} and {@code :authority}. The proxy must have sent
     * SETTINGS_ENABLE_CONNECT_PROTOCOL=1, or Jetty fails the stream locally.
     */
    public Http2Tunnel openExtended(String authority, String path, String protocol, Map<String, String> headers, Duration timeout) throws Exception {
        var request = new MetaData.ConnectRequest(transport.scheme(), new HostPortHttpField(authority), path, fields(headers), protocol);
        return Http2Tunnel.open(this, request, null, timeout);
    }

    /**
     * Plain CONNECT whose {@code :authority} is sent exactly as given, however malformed
     * (Jetty's own types would refuse to build it): the proxy's parsing is what is under test.
     */
    public Http2Tunnel openRawAuthority(String authority, Duration timeout) throws Exception {
        HttpURI empty = HttpURI.build();
        HttpURI raw = (HttpURI) java.lang.reflect.Proxy.newProxyInstance(HttpURI.class.getClassLoader(), new Class<?>[] {HttpURI.class},
            (proxy, method, args) -> method.getName().equals("getAuthority") && method.getParameterCount() == 0
                ? authority
                : method.invoke(empty, args));
        return open(new MetaData.Request("CONNECT", raw, HttpVersion.HTTP_2, HttpFields.EMPTY), null, timeout);
    }

    /** Any request metadata (e.g. deliberately malformed CONNECTs); {@code early} may be null. */
    public Http2Tunnel open(MetaData.Request request, byte[] early, Duration timeout) throws Exception {
        return Http2Tunnel.open(this, request, early, timeout);
    }

    int streamWindow() {
        return streamWindow;
    }

    private static HttpFields fields(Map<String, String> headers) {
        HttpFields.Mutable fields = HttpFields.build();
        headers.forEach(fields::add);
        return fields;
    }

    /** Closes the session (GOAWAY NO_ERROR) and stops the client and its threads. */
    @Override
    public void close() {
        Session s = session;
        if (s != null && !s.isClosed()) {
            s.close(ErrorCode.NO_ERROR.code, "client closed", Callback.NOOP);
        }
        try {
            client.stop();
        } catch (Exception ignored) {
            // stopping anyway
        }
        for (var component : new org.eclipse.jetty.util.component.LifeCycle[] {threads, scheduler}) {
            try {
                component.stop();
            } catch (Exception ignored) {
                // stopping anyway
            }
        }
    }

    static TimeoutException timeout(String what, Duration timeout) {
        return new TimeoutException(what + " not done within " + timeout);
    }

    @Override
    public String toString() {
        return "Http2TunnelClient[" + transport + " " + session + "]";
    }
}
