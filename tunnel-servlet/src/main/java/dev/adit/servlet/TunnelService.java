package dev.adit.servlet;

import java.net.SocketAddress;
import java.util.Objects;
import java.util.function.Consumer;

import dev.adit.config.AditConfig;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelListener;
import dev.adit.embed.AditComponents;
import dev.adit.handler.IdentityCheck;
import dev.adit.handler.Router;
import dev.adit.handler.TunnelHandler;
import dev.adit.log.AccessLog;
import dev.adit.upstream.Cluster;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.component.ContainerLifeCycle;

/**
 * Adit's tunnel machinery for one servlet: the upstream side, clusters, handler and access log
 * that {@link AditComponents} builds for the standalone Adit and the Jetty module too, here as
 * beans of this service rather than of the server, so that they start with the servlet and
 * stop with it when the webapp is undeployed. No listeners: Jetty's own connectors serve the
 * webapp.
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
    private final AditComponents components;
    private final Router router;
    private final IdentityCheck identities;

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
        // No upgrades by connector: Jetty's connectors are not Adit's listeners, so plain CONNECT
        // is enabled and other upgrades only where a route enables them (upgrade-enabled).
        components = AditComponents.build(this, server, config, TunnelListener.NOOP, lines, connector -> null);
        router = new Router(config.routes());
        identities = new IdentityCheck(config.routes());
    }

    AditConfig config()
    {
        return config;
    }

    TunnelHandler handler()
    {
        return components.handler();
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
        return components.cluster(name);
    }

    /** @return the client connector, whose executor, scheduler and buffer pool POST tunnels use once started */
    ClientConnector connector()
    {
        return components.clientConnector();
    }

    /** A tunnel for a POST request taken, reported to the access log whatever becomes of it. */
    Tunnel newTunnel(String label, String protocol, SocketAddress remote, SocketAddress local)
    {
        Tunnel tunnel = new Tunnel(label, protocol, config.tunnel(), connector().getByteBufferPool(), connector().getScheduler(),
            components.tunnelListener());
        tunnel.setDownstreamAddresses(remote, local);
        return tunnel;
    }
}
