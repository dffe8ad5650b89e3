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
import org.eclipse.jetty.util.component.Container;

/**
 * Adit inside a Jetty {@link Server}, whoever built the server: the upstream side (one
 * {@link ClientConnector} for every TCP dial, and an {@link HTTP2Client} when a static h2
 * cluster needs one), the {@link Cluster}s, the {@link TunnelHandler} and the encapsulating
 * connectors, all built from one {@link AditConfig}. {@link AditServer} builds a server around
 * them; the Jetty module ({@link AditJettyModule}) adds them to the server jetty-home configured;
 * the servlet ({@code dev.adit.servlet.AditServlet}) keeps them in a service of its own. One
 * place, so that all three run the same Adit.
 *
 * <p>Life cycle: the access log (when enabled), the upstream side and the clusters are beans of
 * an owner, in that order (a cluster may open connections when it starts; the log, which has a
 * writer thread, stops after what it logs), so that they start and stop with it: the
 * server ({@link #install}), or a servlet's service, whose life is the webapp's
 * ({@link #build}). The handler starts nothing of them: the caller puts {@link #handler()} in
 * the server's handler tree, or calls its {@code handle} directly. Threads, scheduler and
 * buffers are the server's (outside Jetty, the client connector's own).</p>
 */
public final class AditComponents
{
    private final AditConfig config;
    private final ClientConnector clientConnector;
    private final AccessLog accessLog;
    private final TunnelListener listener;
    private final Map<String, Cluster> clusters;
    private final TunnelHandler handler;

    private AditComponents(AditConfig config, ClientConnector clientConnector, AccessLog accessLog, TunnelListener listener,
                           Map<String, Cluster> clusters, TunnelHandler handler)
    {
        this.config = config;
        this.clientConnector = clientConnector;
        this.accessLog = accessLog;
        this.listener = listener;
        this.clusters = Map.copyOf(clusters);
        this.handler = handler;
    }

    /**
     * Builds Adit's parts for {@code server} and adds the upstream side and the clusters to it
     * as beans. The handler is not put in the server's handler tree: that is the caller's
     * choice (in front of everything, or {@code Server.insertHandler} ahead of existing contexts).
     *
     * @param listener       hears of every tunnel after the access log, when that is enabled
     * @param accessLogLines where the access log's lines go; null for the SLF4J logger
     *                       {@value AccessLog#LOGGER_NAME}
     * @param upgrades       the upgrades each connector enables (see {@link TunnelHandler})
     */
    public static AditComponents install(Server server, AditConfig config, TunnelListener listener, Consumer<String> accessLogLines,
                                         Function<Connector, Set<String>> upgrades)
    {
        return build(server, Objects.requireNonNull(server), config, listener, accessLogLines, upgrades);
    }

    /**
     * Builds Adit's parts as beans of {@code owner}, which starts and stops them: for a part of a
     * server that comes and goes without it, such as a webapp's servlet.
     *
     * @param server         the server whose threads, scheduler and buffers the upstream side
     *                       shares; null outside Jetty, where the client connector makes its own
     *                       when it starts
     * @param listener       hears of every tunnel after the access log, when that is enabled
     * @param accessLogLines where the access log's lines go; null for the SLF4J logger
     *                       {@value AccessLog#LOGGER_NAME}
     * @param upgrades       the upgrades each connector enables (see {@link TunnelHandler})
     */
    public static AditComponents build(Container owner, Server server, AditConfig config, TunnelListener listener, Consumer<String> accessLogLines,
                                       Function<Connector, Set<String>> upgrades)
    {
        Objects.requireNonNull(config);
        ClientConnector clientConnector = new AditClientConnector();
        if (server != null)
        {
            // Upstream sockets and HTTP/2 connections run tunnel code that never blocks (also while opening).
            clientConnector.setExecutor(new InPlaceExecutor(server.getThreadPool()));
            clientConnector.setScheduler(server.getScheduler());
            clientConnector.setByteBufferPool(server.getByteBufferPool());
            // The tunnels' timers then never wake the server's scheduler thread.
            owner.addBean(new SchedulerHeartbeat(server.getScheduler()));
        }
        clientConnector.setIdleTimeout(config.tunnel().idleTimeout());
        DestinationPolicy policy = DestinationPolicy.of(config.policy());
        // The client connector's connect timeout is one bound for all; each dial enforces its
        // cluster's own timeout, so the connector's must be the largest of them.
        Duration connectTimeout = config.clusters().values().stream().map(ClusterConfig::connectTimeout)
            .reduce(config.tunnel().connectTimeout(), (x, y) -> x.compareTo(y) >= 0 ? x : y);
        TcpUpstream upstream = new TcpUpstream(clientConnector, policy, connectTimeout);
        // The access log before the parts whose tunnels it logs: it starts first and stops last.
        AccessLog accessLog = accessLog(owner, config, accessLogLines);
        // The access log first: a listener that waits for a tunnel's end (tests do) then finds
        // its line already given to accessLogLines.
        TunnelListener tunnelListener = accessLog == null ? listener
            : listener == TunnelListener.NOOP ? accessLog : TunnelListener.all(accessLog, listener);
        owner.addBean(upstream);
        HTTP2Client http2 = null;
        if (config.clusters().values().stream().anyMatch(c -> c.protocol() == UpstreamProtocol.H2 && c.type() == ClusterConfig.Type.STATIC))
        {
            http2 = new HTTP2Client(clientConnector);
            http2.setInitialStreamRecvWindow(config.http2().initialStreamWindow().toIntBytes());
            http2.setInitialSessionRecvWindow(config.http2().initialSessionWindow().toIntBytes());
            http2.setMaxFrameSize(config.http2().maxFrameSize().toIntBytes());
            // Explicit: 0 would give tunnel streams the connector's idle timeout. The tunnel's
            // own idle timeout takes over once a stream carries a tunnel.
            http2.setStreamIdleTimeout(config.http2().streamIdleTimeout().toMillis());
            owner.addBean(http2);
        }
        Map<String, Cluster> clusters = new HashMap<>();
        for (ClusterConfig cluster : config.clusters().values())
        {
            Cluster c = new Cluster(cluster, upstream, policy, http2);
            clusters.put(cluster.name(), c);
            owner.addBean(c);
        }
        TunnelHandler handler = new TunnelHandler(config.tunnel(), config.routes(), clusters, upgrades, tunnelListener);
        return new AditComponents(config, clientConnector, accessLog, tunnelListener, clusters, handler);
    }

    /**
     * @return the access log as a bean of {@code owner}, which starts and stops it (and with it
     *         the writer thread of lines for the logger), or null when it is disabled
     */
    private static AccessLog accessLog(Container owner, AditConfig config, Consumer<String> accessLogLines)
    {
        if (!config.accessLog().enabled())
            return null;
        AccessLog accessLog = accessLogLines == null ? new AccessLog() : new AccessLog(accessLogLines);
        owner.addBean(accessLog);
        return accessLog;
    }

    /** The handler that serves tunnel requests; it must sit in front of every context. */
    public TunnelHandler handler()
    {
        return handler;
    }

    /** @return the cluster named {@code name}, or null */
    public Cluster cluster(String name)
    {
        return clusters.get(name);
    }

    /**
     * @return the connector of every dial; once started, its scheduler and buffer pool are
     *         those of tunnels made outside the handler (a servlet's POST tunnels)
     */
    public ClientConnector clientConnector()
    {
        return clientConnector;
    }

    /** @return the access log, or null when it is disabled */
    public AccessLog accessLog()
    {
        return accessLog;
    }

    /** @return what hears of every tunnel: the access log when enabled, then the listener given */
    public TunnelListener tunnelListener()
    {
        return listener;
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
