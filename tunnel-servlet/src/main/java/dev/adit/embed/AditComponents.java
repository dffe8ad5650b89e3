package dev.adit.embed;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

import dev.adit.config.AditConfig;
import dev.adit.config.ClusterConfig;
import dev.adit.config.EncapConfig;
import dev.adit.config.UpstreamProtocol;
import dev.adit.core.TunnelListener;
import dev.adit.encap.EncapConnectionFactory;
import dev.adit.handler.TunnelHandler;
import dev.adit.log.AccessLog;
import dev.adit.policy.DestinationPolicy;
import dev.adit.upstream.Cluster;
import dev.adit.upstream.TcpUpstream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Adit inside a Jetty {@link Server}, whoever built the server: the upstream side (one
 * {@link ClientConnector} for every TCP dial, and an {@link HTTP2Client} when a static h2
 * cluster needs one), the {@link Cluster}s, the {@link TunnelHandler} and the encapsulating
 * connectors, all built from one {@link AditConfig}. {@link AditServer} builds a server around
 * them; the Jetty module ({@link AditJettyModule}) adds them to the server jetty-home configured.
 * One place, so that both run the same Adit.
 *
 * <p>Life cycle: {@link #install} adds the upstream side to the server as beans and the clusters
 * are the handler's beans, so everything starts and stops with the server once the caller has
 * put {@link #handler()} in the server's handler tree. Threads, scheduler and buffers are the
 * server's.</p>
 */
public final class AditComponents
{
    private final AditConfig config;
    private final TunnelListener listener;
    private final Map<String, Cluster> clusters;
    private final TunnelHandler handler;

    private AditComponents(AditConfig config, TunnelListener listener, Map<String, Cluster> clusters, TunnelHandler handler)
    {
        this.config = config;
        this.listener = listener;
        this.clusters = Map.copyOf(clusters);
        this.handler = handler;
    }

    /**
     * Builds Adit's parts for {@code server} and adds the upstream side to it as beans. The
     * handler is not put in the server's handler tree: that is the caller's choice (in front of
     * everything, or {@code Server.insertHandler} ahead of existing contexts).
     *
     * @param listener       hears of every tunnel after the access log, when that is enabled
     * @param accessLogLines where the access log's lines go; null for the SLF4J logger
     *                       {@value AccessLog#LOGGER_NAME}
     * @param upgrades       the upgrades each connector enables (see {@link TunnelHandler})
     */
    public static AditComponents install(Server server, AditConfig config, TunnelListener listener, Consumer<String> accessLogLines,
                                         Function<Connector, Set<String>> upgrades)
    {
        Objects.requireNonNull(config);
        ClientConnector clientConnector = new ClientConnector();
        clientConnector.setExecutor(server.getThreadPool());
        clientConnector.setScheduler(server.getScheduler());
        clientConnector.setByteBufferPool(server.getByteBufferPool());
        clientConnector.setIdleTimeout(config.tunnel().idleTimeout());
        DestinationPolicy policy = DestinationPolicy.of(config.policy());
        // The client connector's connect timeout is one bound for all; each dial enforces its
        // cluster's own timeout, so the connector's must be the largest of them.
        Duration connectTimeout = config.clusters().values().stream().map(ClusterConfig::connectTimeout)
            .reduce(config.tunnel().connectTimeout(), (x, y) -> x.compareTo(y) >= 0 ? x : y);
        TcpUpstream upstream = new TcpUpstream(clientConnector, policy, connectTimeout);
        server.addBean(upstream);
        HTTP2Client http2 = null;
        if (config.clusters().values().stream().anyMatch(c -> c.protocol() == UpstreamProtocol.H2 && c.type() == ClusterConfig.Type.STATIC))
        {
            http2 = new HTTP2Client(clientConnector);
            http2.setInitialStreamRecvWindow(config.http2().initialStreamWindow().toIntBytes());
            http2.setInitialSessionRecvWindow(config.http2().initialSessionWindow().toIntBytes());
            // Explicit: 0 would give tunnel streams the connector's idle timeout. The tunnel's
            // own idle timeout takes over once a stream carries a tunnel.
            http2.setStreamIdleTimeout(config.http2().streamIdleTimeout().toMillis());
            server.addBean(http2);
        }
        Map<String, Cluster> clusters = new HashMap<>();
        for (ClusterConfig cluster : config.clusters().values())
            clusters.put(cluster.name(), new Cluster(cluster, upstream, policy, http2));
        TunnelListener tunnelListener = tunnelListener(config, listener, accessLogLines);
        TunnelHandler handler = new TunnelHandler(config.tunnel(), config.routes(), clusters, upgrades, tunnelListener);
        return new AditComponents(config, tunnelListener, clusters, handler);
    }

    /**
     * The access log first: a listener that waits for a tunnel's end (tests do) then finds
     * its line already written.
     */
    private static TunnelListener tunnelListener(AditConfig config, TunnelListener listener, Consumer<String> accessLogLines)
    {
        if (!config.accessLog().enabled())
            return listener;
        AccessLog accessLog = accessLogLines == null ? new AccessLog() : new AccessLog(accessLogLines);
        return listener == TunnelListener.NOOP ? accessLog : TunnelListener.all(accessLog, listener);
    }

    /** The handler that serves tunnel requests; it must sit in front of every context. */
    public TunnelHandler handler()
    {
        return handler;
    }

    /**
     * Adds one encapsulating connector per {@code adit.encaps} entry to {@code server}, each named
     * after its entry, before the server starts.
     */
    public void addEncapConnectors(Server server)
    {
        for (EncapConfig encap : config.encaps())
        {
            EncapConnectionFactory factory = new EncapConnectionFactory(encap, clusters.get(encap.cluster()), config.tunnel(), listener);
            ServerConnector connector = new AditServerConnector(server, factory);
            connector.setName(encap.name());
            connector.setHost(encap.host());
            connector.setPort(encap.port());
            connector.setAcceptQueueSize(1024);
            // Until the upstream answers, the client's connection waits unread; the cluster's
            // connect timeout bounds that wait, the tunnel's idle timeout the rest.
            connector.setIdleTimeout(config.tunnel().idleTimeout().toMillis());
            server.addConnector(connector);
        }
    }
}
