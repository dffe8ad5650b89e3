package dev.adit.servlet;

import java.net.SocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import dev.adit.config.AditConfig;
import dev.adit.config.ClusterConfig;
import dev.adit.config.UpstreamProtocol;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelListener;
import dev.adit.handler.IdentityCheck;
import dev.adit.handler.Router;
import dev.adit.handler.TunnelHandler;
import dev.adit.log.AccessLog;
import dev.adit.policy.DestinationPolicy;
import dev.adit.upstream.Cluster;
import dev.adit.upstream.TcpUpstream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.ContainerLifeCycle;

/**
 * Adit's tunnel machinery for one servlet: the upstream side (client connector, TCP and
 * HTTP/2 clients, clusters), the routes, and the access log, built from an {@link AditConfig}
 * as {@code dev.adit.embed.AditServer} builds them for a whole server, minus the listeners.
 *
 * <p>Inside Jetty it shares the server's threads, scheduler and buffer pool (the listeners'
 * own); elsewhere the client connector makes its own when it starts.</p>
 *
 * <p>CONNECT requests go to {@link #handler()}, a {@link TunnelHandler} over the same clusters
 * that is used for its {@code handle} only: it is not started as a Jetty handler (this service
 * starts and stops the clusters), and has no next handler, so a request it does not take
 * makes {@code handle} return false. POST tunnels, served through the Servlet API, use
 * {@link #router()}, {@link #identities()} and {@link #cluster} directly.</p>
 */
final class TunnelService extends ContainerLifeCycle
{
    private final AditConfig config;
    private final ClientConnector connector;
    private final Router router;
    private final IdentityCheck identities;
    private final Map<String, Cluster> clusters = new HashMap<>();
    private final TunnelListener listener;
    private final TunnelHandler handler;

    /**
     * @param server the Jetty server running the servlet, for its threads, scheduler and
     *               buffers; null outside Jetty
     * @param lines  where the access log's lines go; null for the SLF4J logger {@value AccessLog#LOGGER_NAME}
     * @throws LinkageError when an h2 cluster is configured and Jetty's HTTP/2 client is not
     *                      visible (jetty-home: the {@code http2-client} module)
     */
    TunnelService(AditConfig config, Server server, Consumer<String> lines)
    {
        this.config = Objects.requireNonNull(config);
        connector = new ClientConnector();
        if (server != null)
        {
            connector.setExecutor(server.getThreadPool());
            connector.setScheduler(server.getScheduler());
            connector.setByteBufferPool(server.getByteBufferPool());
        }
        connector.setIdleTimeout(config.tunnel().idleTimeout());
        addBean(connector);
        DestinationPolicy policy = DestinationPolicy.of(config.policy());
        // As in AditServer: the connector's connect timeout bounds every cluster's own.
        Duration connectTimeout = config.clusters().values().stream().map(ClusterConfig::connectTimeout)
            .reduce(config.tunnel().connectTimeout(), (x, y) -> x.compareTo(y) >= 0 ? x : y);
        TcpUpstream upstream = new TcpUpstream(connector, policy, connectTimeout);
        addBean(upstream);
        HTTP2Client http2 = null;
        if (config.clusters().values().stream().anyMatch(c -> c.protocol() == UpstreamProtocol.H2 && c.type() == ClusterConfig.Type.STATIC))
        {
            http2 = new HTTP2Client(connector);
            http2.setInitialStreamRecvWindow(config.http2().initialStreamWindow().toIntBytes());
            http2.setInitialSessionRecvWindow(config.http2().initialSessionWindow().toIntBytes());
            http2.setStreamIdleTimeout(config.http2().streamIdleTimeout().toMillis());
            addBean(http2);
        }
        for (ClusterConfig cluster : config.clusters().values())
        {
            Cluster c = new Cluster(cluster, upstream, policy, http2);
            clusters.put(cluster.name(), c);
            addBean(c);
        }
        router = new Router(config.routes());
        identities = new IdentityCheck(config.routes());
        listener = config.accessLog().enabled() ? (lines == null ? new AccessLog() : new AccessLog(lines)) : TunnelListener.NOOP;
        // No listener names: Jetty's connectors are not Adit's, so plain CONNECT is enabled and
        // other upgrades only where a route enables them (upgrade-enabled).
        handler = new TunnelHandler(config.tunnel(), config.routes(), clusters, Map.of(), listener);
    }

    AditConfig config()
    {
        return config;
    }

    TunnelHandler handler()
    {
        return handler;
    }

    Router router()
    {
        return router;
    }

    IdentityCheck identities()
    {
        return identities;
    }

    Cluster cluster(String name)
    {
        return clusters.get(name);
    }

    /** @return the client connector, whose executor, scheduler and buffer pool POST tunnels use once started */
    ClientConnector connector()
    {
        return connector;
    }

    /** A tunnel for a POST request taken, reported to the access log whatever becomes of it. */
    Tunnel newTunnel(String label, String protocol, SocketAddress remote, SocketAddress local)
    {
        Tunnel tunnel = new Tunnel(label, protocol, config.tunnel(), connector.getByteBufferPool(), connector.getScheduler(), listener);
        tunnel.setDownstreamAddresses(remote, local);
        return tunnel;
    }
}
