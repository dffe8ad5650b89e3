package dev.adit.embed;

import java.security.KeyStore;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

import dev.adit.config.AditConfig;
import dev.adit.config.Http2Config;
import dev.adit.config.ListenerConfig;
import dev.adit.core.TunnelListener;
import dev.adit.encap.EncapConnectionFactory;
import dev.adit.handler.Http2TunnelResets;
import dev.adit.handler.TunnelHandler;
import dev.adit.log.AccessLog;
import dev.adit.tls.PemCredentials;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Builds an embedded Jetty {@link Server} that runs Adit from an {@link AditConfig}: the
 * listeners (HTTP/1.1 + h2c; TLS with ALPN h2 and http/1.1), HTTP/2 settings sized for
 * tunnels, a {@link TunnelHandler} in front of everything, and the encapsulating listeners
 * ({@link EncapConnectionFactory}: plain TCP in, tunnels out), from {@link AditComponents}. The standalone launcher uses
 * it; so can applications that want Adit in their own process.
 *
 * <pre>{@code
 * Server server = AditServer.builder(config).build();
 * server.start();
 * }</pre>
 */
public final class AditServer
{
    private AditServer()
    {
    }

    public static Builder builder(AditConfig config)
    {
        return new Builder(config);
    }

    /** @return the port a started server's listener named {@code http} or {@code https} is bound to, or -1 */
    public static int port(Server server, String listenerName)
    {
        return Arrays.stream(server.getConnectors())
            .filter(c -> listenerName.equals(c.getName()) && c instanceof ServerConnector)
            .mapToInt(c -> ((ServerConnector)c).getLocalPort())
            .findFirst().orElse(-1);
    }

    /** Options of {@link AditServer}; every one has a default. */
    public static final class Builder
    {
        private final AditConfig config;
        private TunnelListener listener = TunnelListener.NOOP;
        private ByteBufferPool byteBufferPool;
        private Consumer<String> accessLogLines;

        private Builder(AditConfig config)
        {
            this.config = Objects.requireNonNull(config);
        }

        /** Observe the tunnels; the access log, when enabled, hears of each tunnel first. */
        public Builder listener(TunnelListener listener)
        {
            this.listener = Objects.requireNonNull(listener);
            return this;
        }

        /**
         * Send the access log's lines here instead of the SLF4J logger
         * {@value AccessLog#LOGGER_NAME} (tests, or an embedder's own sink). Only when the
         * configuration enables the access log.
         */
        public Builder accessLog(Consumer<String> lines)
        {
            this.accessLogLines = Objects.requireNonNull(lines);
            return this;
        }

        /** Use this pool for every buffer (tests pass a leak-tracking pool). */
        public Builder byteBufferPool(ByteBufferPool pool)
        {
            this.byteBufferPool = pool;
            return this;
        }

        public Server build()
        {
            QueuedThreadPool threads = new QueuedThreadPool();
            threads.setName("adit");
            Server server = new Server(threads, null, byteBufferPool);
            for (ListenerConfig listener : config.listeners())
            {
                if (listener.enabled())
                    server.addConnector(listener.isTls() ? tlsConnector(server, listener) : plainConnector(server, listener));
            }
            Map<String, Set<String>> upgrades = new HashMap<>();
            for (ListenerConfig l : config.listeners())
                upgrades.put(l.name(), l.upgrades());
            AditComponents adit = AditComponents.install(server, config, listener, accessLogLines,
                connector -> connector.getName() == null ? null : upgrades.get(connector.getName()));
            server.setHandler(adit.handler());
            server.setErrorHandler(new AditErrorHandler(adit.accessLog()));
            adit.addEncapConnectors(server);
            // No graceful wait: Jetty 12.1's HTTP/2 sessions keep closed tunnel streams registered
            // (jetty/jetty.project#15657), so a graceful stop would wait out its whole timeout.
            // Open tunnels are reset at stop; a real drain is a later feature.
            server.setStopTimeout(0);
            return server;
        }

        private HttpConfiguration httpConfiguration()
        {
            HttpConfiguration http = new HttpConfiguration();
            http.setSendServerVersion(false);
            http.setSendDateHeader(false);
            return http;
        }

        private Connector plainConnector(Server server, ListenerConfig listener)
        {
            HttpConfiguration http = httpConfiguration();
            HTTP2CServerConnectionFactory h2c = configure(new HTTP2CServerConnectionFactory(http));
            ServerConnector connector = new AditServerConnector(server, new InPlaceExecutor(server.getThreadPool()), new TunnelHttpConnectionFactory(http), h2c);
            return bind(connector, listener);
        }

        private Connector tlsConnector(Server server, ListenerConfig listener)
        {
            HttpConfiguration https = httpConfiguration();
            SecureRequestCustomizer secure = new SecureRequestCustomizer();
            // The Host of a CONNECT is the target, not this server: SNI cannot be checked against it.
            secure.setSniHostCheck(false);
            https.addCustomizer(secure);

            char[] password = "adit".toCharArray();
            KeyStore keyStore = PemCredentials.keyStore(
                listener.certChain().orElseThrow(() -> new IllegalArgumentException("the TLS listener needs adit.tls.cert-chain")),
                listener.privateKey().orElseThrow(() -> new IllegalArgumentException("the TLS listener needs adit.tls.private-key")),
                password);
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStore(keyStore);
            ssl.setKeyStorePassword(new String(password));
            ssl.setCipherComparator(HTTP2Cipher.COMPARATOR);
            clientAuth(ssl, listener);
            if (!listener.tlsProtocols().isEmpty())
                ssl.setIncludeProtocols(listener.tlsProtocols().toArray(String[]::new));

            HttpConnectionFactory http1 = new TunnelHttpConnectionFactory(https);
            HTTP2ServerConnectionFactory h2 = configure(new HTTP2ServerConnectionFactory(https));
            // ALPN tokens (RFC 7301), not Jetty's protocol names ("HTTP/1.1" would match no client).
            ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
            alpn.setDefaultProtocol("http/1.1");
            // Not Jetty's own: it could drop a client's last records after a half-close.
            SslConnectionFactory tls = new DrainFirstSslConnectionFactory(ssl, alpn.getProtocol());
            ServerConnector connector = new AditServerConnector(server, new InPlaceExecutor(server.getThreadPool()), tls, alpn, h2, http1);
            return bind(connector, listener);
        }

        /**
         * Mutual TLS: the JDK's trust manager checks a client certificate against the listener's
         * client CAs during the handshake, so an untrusted one never reaches a handler; routes
         * then authorize the identity it carries ({@link TunnelHandler}).
         */
        private static void clientAuth(SslContextFactory.Server ssl, ListenerConfig listener)
        {
            switch (listener.clientAuth())
            {
                case WANT -> ssl.setWantClientAuth(true);
                case NEED -> ssl.setNeedClientAuth(true);
                case NONE ->
                {
                    return;
                }
            }
            ssl.setTrustStore(PemCredentials.trustStore(listener.clientCa()));
        }

        private <F extends AbstractHTTP2ServerConnectionFactory> F configure(F factory)
        {
            Http2Config h2 = config.http2();
            factory.setMaxConcurrentStreams(h2.maxConcurrentStreams());
            factory.setInitialStreamRecvWindow(h2.initialStreamWindow().toIntBytes());
            factory.setInitialSessionRecvWindow(h2.initialSessionWindow().toIntBytes());
            // Explicit: 0 would make Jetty copy the connector's idle timeout onto every stream.
            factory.setStreamIdleTimeout(h2.streamIdleTimeout().toMillis());
            factory.setMaxFrameSize(h2.maxFrameSize().toIntBytes());
            factory.setConnectProtocolEnabled(true);
            // Adit's own RST_STREAM(CONNECT_ERROR)s, and what crosses them, must not cost a client its connection.
            Http2TunnelResets.install(factory);
            return factory;
        }

        private ServerConnector bind(ServerConnector connector, ListenerConfig listener)
        {
            connector.setName(listener.name());
            connector.setHost(listener.host());
            connector.setPort(listener.port());
            connector.setIdleTimeout(config.idleTimeout().toMillis());
            // Jetty's default (the JDK's 50) overflowed in HTTP/1.1 CONNECT bursts; the kernel caps this at somaxconn.
            connector.setAcceptQueueSize(1024);
            return connector;
        }
    }
}
