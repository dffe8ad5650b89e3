package dev.adit.testing;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * Opens CONNECT tunnels through a proxy over one {@link Transport}.
 *
 * <p>HTTP/1.1 ({@link Transport#HTTP1}, {@link Transport#HTTP1_TLS}): a factory, each
 * {@link Tunnel} has its own connection. HTTP/2 ({@link Transport#H2C}, {@link Transport#H2}):
 * one HTTP/2 session, each tunnel is a stream on it ({@link Http2TunnelClient}).
 * {@link #close()} closes every tunnel it opened and stops every thread it started.
 * Thread-safe: tunnels may be opened concurrently.
 */
public interface TunnelClient extends AutoCloseable {
    /** Bound for establishing the HTTP/2 session in {@link #connect}. */
    Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /** A client for {@code transport} to the proxy at {@code proxy}; for HTTP/2 the session is connected. */
    static TunnelClient connect(Transport transport, InetSocketAddress proxy) throws Exception {
        return transport.isHttp2()
            ? Http2TunnelClient.connect(transport, proxy, Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW)
            : new Http1TunnelClient(transport, proxy);
    }

    /**
     * As {@link #connect(Transport, InetSocketAddress)} over a TLS transport, with {@code tls}
     * (e.g. {@link TrustAll#withClientCertificate}) instead of the trust-all default, so that the
     * client can present a certificate.
     */
    static TunnelClient connect(Transport transport, InetSocketAddress proxy, SSLContext tls) throws Exception {
        if (!transport.isTls()) {
            throw new IllegalArgumentException("transport: " + transport + " (expected: HTTP1_TLS or H2)");
        }
        return transport.isHttp2()
            ? Http2TunnelClient.connect(transport, proxy, Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW, tls)
            : new Http1TunnelClient(transport, proxy, tls);
    }

    /** An HTTP/2 client ({@code H2C} or {@code H2}) with explicit receive windows, e.g. small ones for slow-reader tests. */
    static Http2TunnelClient connectH2(Transport transport, InetSocketAddress proxy, int streamWindow, int sessionWindow) throws Exception {
        return Http2TunnelClient.connect(transport, proxy, streamWindow, sessionWindow);
    }

    Transport transport();

    /** Sends {@code CONNECT authority} and waits at most {@code timeout} for the response head (and a non-2xx body). */
    default Tunnel open(String authority, Duration timeout) throws Exception {
        return open(authority, Map.of(), timeout);
    }

    /** As {@link #open(String, Duration)}, with extra request headers (e.g. {@code Proxy-Authorization}). */
    default Tunnel open(String authority, Map<String, String> headers, Duration timeout) throws Exception {
        return open(authority, headers, null, timeout);
    }

    /**
     * Sends the CONNECT and {@code early} bytes before waiting for the response: h1 writes the
     * head and the bytes in one write; h2 sends HEADERS then one DATA frame at once.
     */
    default Tunnel openWithEarlyData(String authority, byte[] early, Duration timeout) throws Exception {
        return open(authority, Map.of(), early, timeout);
    }

    /** The general form: extra headers, optional early data ({@code null} for none). */
    Tunnel open(String authority, Map<String, String> headers, byte[] early, Duration timeout) throws Exception;

    @Override
    void close();
}
