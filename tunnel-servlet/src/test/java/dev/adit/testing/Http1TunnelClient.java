package dev.adit.testing;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;

/**
 * {@link TunnelClient} for {@link Transport#HTTP1} and {@link Transport#HTTP1_TLS}: a factory
 * of {@link Http1Tunnel}s, each on its own socket. Holds no connection itself; {@link #close()}
 * closes the tunnels it opened that are still open.
 */
public final class Http1TunnelClient implements TunnelClient {
    private final Transport transport;
    private final InetSocketAddress proxy;
    private final SSLContext tls;
    private final Set<Http1Tunnel> tunnels = ConcurrentHashMap.newKeySet();

    public Http1TunnelClient(Transport transport, InetSocketAddress proxy) {
        this(transport, proxy, null);
    }

    /** @param tls the TLS context of {@link Transport#HTTP1_TLS}, or null for trust-all without a client certificate */
    public Http1TunnelClient(Transport transport, InetSocketAddress proxy, SSLContext tls) {
        if (transport.isHttp2()) {
            throw new IllegalArgumentException("transport: " + transport + " (expected: HTTP1 or HTTP1_TLS)");
        }
        this.transport = transport;
        this.proxy = proxy;
        this.tls = tls;
    }

    @Override
    public Transport transport() {
        return transport;
    }

    @Override
    public Tunnel open(String authority, Map<String, String> headers, byte[] early, Duration timeout) throws Exception {
        Http1Tunnel tunnel = Http1Tunnel.open(transport, proxy, authority, headers, early, timeout, tls);
        tunnels.add(tunnel);
        tunnel.onClose(() -> tunnels.remove(tunnel));
        return tunnel;
    }

    @Override
    public void close() {
        for (Http1Tunnel tunnel : tunnels) {
            tunnel.close();
        }
    }
}
