package dev.adit.upstream;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;

import dev.adit.config.ClusterConfig;
import dev.adit.config.HostPort;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Forwards CONNECTs to upstream proxies (another Adit, Envoy...) as HTTP/2 CONNECT streams
 * (RFC 9113 §8.5, or RFC 8441 extended CONNECT) multiplexed over pooled connections: h2c, or
 * TLS with ALPN {@code h2} when an {@link SslContextFactory.Client} is given.
 *
 * <p><b>Pooling</b>, per endpoint: a tunnel takes a free stream slot on an existing connection;
 * a connection holds at most min({@code maxStreamsPerConnection}, the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS) tunnels, counted here because Jetty fails a stream beyond the
 * peer's limit instead of queueing it. When every connection is full, requests wait in a
 * bounded queue ({@link #setMaxQueuedPerEndpoint}, beyond it they fail with
 * {@code UNAVAILABLE}) and one new connection is made; there is never more than one connection
 * attempt at a time per endpoint. A connection is ready when the peer's first SETTINGS arrived.
 * A failed attempt fails the waiting requests with a classified {@link TunnelException}
 * ({@code DNS_FAILURE}, {@code CONNECT_FAILED}, {@code CONNECT_TIMEOUT}, {@code TLS_FAILED});
 * the next request tries again. A slot is returned when its stream closes (both directions
 * ended, or a reset). A connection with no stream for {@code idleTimeout} is closed; one that
 * receives GOAWAY takes no new streams; one that fails or closes is dropped and its tunnels
 * end through their failed streams.</p>
 *
 * <p><b>Minimum</b> ({@link #setMinConnections}, {@link #prewarm}): to each pre-warmed endpoint
 * at least that many connections are kept open, made when the pool starts, before any
 * request (one attempt at a time), and replaced when lost; the idle timeout never takes the
 * count below it. A failed attempt, or the loss of a young connection, delays the next
 * replacement by a backoff of 100 ms doubling to 10 s; the first failure of a run is logged
 * at WARN with its reason, the recovery at INFO. Other endpoints have no minimum.</p>
 *
 * <p><b>Keepalive</b> ({@link #setPingInterval}, {@link #setPingTimeout}): each pooled
 * connection sends an HTTP/2 PING once the interval has passed since the last ACK; no ACK
 * within the timeout means the connection is dead (a silent peer or path, which TCP may not
 * notice for minutes): it is dropped from the pool and its socket closed, which resets its
 * tunnels, and replaced if the minimum needs it. PINGs are connection-level: they do not
 * reset a tunnel's idle timeout, and since idleness here is "no stream", they do not keep an
 * idle connection open either.</p>
 *
 * <p><b>Per request</b> ({@link #open}): HEADERS with the given CONNECT request, without
 * END_STREAM. A 2xx turns the stream into the tunnel's upstream side
 * ({@link Http2ClientStreamEndPoint}); a non-2xx is read to its end (at most 64 KiB of body
 * kept) and fails the promise with {@link UpstreamRefusedException}; no response within the
 * response timeout is {@code CONNECT_TIMEOUT}; a reset before the response is
 * {@code CONNECT_FAILED} (CONNECT_ERROR, or REFUSED_STREAM again after one retry) or
 * {@code UPSTREAM_PROTOCOL_ERROR}.</p>
 *
 * <p><b>HTTP/2 client settings</b>: the caller creates the {@link HTTP2Client} (typically with
 * {@link #newHttp2Client}, sharing the proxy's {@link ClientConnector}). The pool leaves the
 * client's stream idle timeout alone, since one client serves the pools of every h2 cluster:
 * it only bounds a stream that never became a tunnel (the response timeout bounds the wait for
 * the answer, and a tunnel sets its own idle timeout on its stream when it starts).
 * {@link #newHttp2Client} sets it explicitly. Connection idleness is decided here: the session listener refuses
 * the connector's idle timeout for connections with tunnels, however quiet, and for those the
 * minimum keeps. (With PINGs on, the connector's idle timeout hardly ever fires: a PING and
 * its ACK are I/O.)</p>
 *
 * <p><b>Life cycle</b>: the HTTP/2 client and the TLS factory are beans; a bean that is not
 * started when the pool starts is started and stopped with it (share a started connector to
 * keep it out of the pool's life cycle). Stopping fails waiting requests with
 * {@code UNAVAILABLE} and closes every connection, which aborts their tunnels.</p>
 *
 * <p><b>Threading</b>: {@link #open} may be called from any thread and never blocks: names are
 * resolved on the executor ({@link SocketAddressResolver.Async}); no lock is held across a
 * connect, a TLS handshake or a write (connections made for the minimum included). The promise is completed exactly once, on an I/O or
 * scheduler thread; on success the tunnel's upstream connection is already installed and
 * open.</p>
 */
public class Http2ConnectPool extends ContainerLifeCycle
{
    /** Per-stream receive window set by {@link #newHttp2Client}: one tunnel can fill a fast link. */
    public static final int DEFAULT_STREAM_WINDOW = 8 * 1024 * 1024;
    /** Connection receive window set by {@link #newHttp2Client}: 4 streams' worth (one stream must not stall the others). */
    public static final int DEFAULT_SESSION_WINDOW = 4 * DEFAULT_STREAM_WINDOW;
    /** Stream idle timeout set by {@link #newHttp2Client}, as {@code adit.h2.stream-idle-timeout}'s default. */
    public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofHours(1);
    /** Requests that may wait for a connection to one endpoint, by default. */
    public static final int DEFAULT_MAX_QUEUED_PER_ENDPOINT = 1024;
    /** PING interval by default: Istio ztunnel's, as for clusters. */
    public static final Duration DEFAULT_PING_INTERVAL = ClusterConfig.DEFAULT_PING_INTERVAL;
    /** How long a PING ACK may take by default: Istio ztunnel's, as for clusters. */
    public static final Duration DEFAULT_PING_TIMEOUT = ClusterConfig.DEFAULT_PING_TIMEOUT;

    private final ConcurrentMap<HostPort, Http2Destination> destinations = new ConcurrentHashMap<>();
    private final HTTP2Client client;
    private final int maxStreamsPerConnection;
    private final Duration idleTimeout;
    private final Duration connectTimeout;
    private final SslContextFactory.Client sslContextFactory;
    private final String sniHost;
    private final Set<HostPort> warm = ConcurrentHashMap.newKeySet();
    private int maxQueuedPerEndpoint = DEFAULT_MAX_QUEUED_PER_ENDPOINT;
    private int minConnections;
    private Duration pingInterval = DEFAULT_PING_INTERVAL;
    private Duration pingTimeout = DEFAULT_PING_TIMEOUT;
    private SocketAddressResolver resolver;

    /**
     * @param client                  the HTTP/2 client making the connections
     * @param maxStreamsPerConnection tunnels per connection, at most (the peer may allow fewer)
     * @param idleTimeout             a connection without streams for this long is closed; zero keeps it
     * @param connectTimeout          bound of DNS, TCP, TLS and the peer's first SETTINGS together
     * @param sslContextFactory       TLS with ALPN {@code h2}; null for h2c (prior knowledge)
     * @param sniHost                 the TLS server name (and the name the certificate is checked
     *                                against); null for the endpoint's host when it is a name
     */
    public Http2ConnectPool(HTTP2Client client, int maxStreamsPerConnection, Duration idleTimeout, Duration connectTimeout,
                            SslContextFactory.Client sslContextFactory, String sniHost)
    {
        if (maxStreamsPerConnection < 1)
            throw new IllegalArgumentException("maxStreamsPerConnection: " + maxStreamsPerConnection + " (expected: >= 1)");
        if (idleTimeout.isNegative())
            throw new IllegalArgumentException("idleTimeout: " + idleTimeout + " (expected: >= 0)");
        if (connectTimeout.isNegative() || connectTimeout.isZero())
            throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " (expected: > 0)");
        this.client = Objects.requireNonNull(client, "client");
        this.maxStreamsPerConnection = maxStreamsPerConnection;
        this.idleTimeout = idleTimeout;
        this.connectTimeout = connectTimeout;
        this.sslContextFactory = sslContextFactory;
        this.sniHost = sniHost;
        installBean(client);
        if (sslContextFactory != null)
            installBean(sslContextFactory);
    }

    /**
     * An HTTP/2 client sized for tunnels on {@code connector}: {@link #DEFAULT_STREAM_WINDOW}
     * and {@link #DEFAULT_SESSION_WINDOW} receive windows (Jetty's defaults are 8 MiB and
     * 16 MiB), ALPN {@code h2}, and a stream idle timeout of {@link #DEFAULT_STREAM_IDLE_TIMEOUT}.
     * Not started.
     */
    public static HTTP2Client newHttp2Client(ClientConnector connector)
    {
        HTTP2Client client = new HTTP2Client(connector);
        client.setInitialStreamRecvWindow(DEFAULT_STREAM_WINDOW);
        client.setInitialSessionRecvWindow(DEFAULT_SESSION_WINDOW);
        client.setApplicationProtocols(List.of("h2"));
        client.setUseALPN(true);
        client.setStreamIdleTimeout(DEFAULT_STREAM_IDLE_TIMEOUT.toMillis());
        return client;
    }

    @Override
    protected void doStart() throws Exception
    {
        super.doStart();
        resolver = new SocketAddressResolver.Async(client.getExecutor(), client.getScheduler(), connectTimeout.toMillis());
        warm.forEach(this::keepWarm);
    }

    @Override
    protected void doStop() throws Exception
    {
        List<Http2Destination> stopping = new ArrayList<>(destinations.values());
        destinations.clear();
        stopping.forEach(Http2Destination::close);
        super.doStop();
    }

    /**
     * Forwards a CONNECT to {@code endpoint} on a pooled connection and, on a 2xx, installs the
     * stream as the tunnel's upstream side ({@link Tunnel#newUpstreamConnection}).
     *
     * @param endpoint        the upstream proxy
     * @param request         the CONNECT to send: plain ({@code :method}, {@code :authority}) or
     *                        extended (also {@code :protocol}, {@code :scheme}, {@code :path})
     * @param tunnel          the tunnel whose upstream side the stream becomes
     * @param responseTimeout how long the upstream may take to answer once the request is sent;
     *                        zero waits for ever
     * @param promise         completed once: with the upstream connection's remote address once
     *                        the tunnel's upstream side is open; or failed with a
     *                        {@link TunnelException} ({@link UpstreamRefusedException} for a
     *                        non-2xx). On failure the caller disposes of the tunnel.
     */
    public void open(HostPort endpoint, MetaData.Request request, Tunnel tunnel, Duration responseTimeout, Promise<InetSocketAddress> promise)
    {
        acquire(new Http2ConnectExchange(this, endpoint, request, tunnel, responseTimeout, promise));
    }

    /**
     * Keeps {@link #getMinConnections()} connections open to each of {@code endpoints} (a
     * static cluster's), from now on if the pool runs, else from its start. Adds to the
     * endpoints given before; nothing happens while the minimum is zero.
     */
    public void prewarm(Collection<HostPort> endpoints)
    {
        warm.addAll(endpoints);
        if (isRunning())
            endpoints.forEach(this::keepWarm);
    }

    private void keepWarm(HostPort endpoint)
    {
        if (minConnections > 0)
            destinations.computeIfAbsent(endpoint, e -> new Http2Destination(this, e)).keepWarm(minConnections);
    }

    void acquire(Http2ConnectExchange exchange)
    {
        if (!isRunning())
        {
            exchange.fail(new TunnelException(TunnelFailure.UNAVAILABLE, "the HTTP/2 pool is " + getState()));
            return;
        }
        destinations.computeIfAbsent(exchange.endpoint(), e -> new Http2Destination(this, e)).acquire(exchange);
    }

    // ---- configuration ----

    public HTTP2Client getHttp2Client()
    {
        return client;
    }

    public int getMaxStreamsPerConnection()
    {
        return maxStreamsPerConnection;
    }

    public Duration getIdleTimeout()
    {
        return idleTimeout;
    }

    public Duration getConnectTimeout()
    {
        return connectTimeout;
    }

    /** @return the TLS client factory, null for h2c */
    public SslContextFactory.Client getSslContextFactory()
    {
        return sslContextFactory;
    }

    /** @return the configured SNI host, null for the endpoint's host */
    public String getSniHost()
    {
        return sniHost;
    }

    public int getMaxQueuedPerEndpoint()
    {
        return maxQueuedPerEndpoint;
    }

    /** How many requests may wait for a connection to one endpoint; more fail with {@code UNAVAILABLE}. */
    public void setMaxQueuedPerEndpoint(int maxQueued)
    {
        if (maxQueued < 0)
            throw new IllegalArgumentException("maxQueuedPerEndpoint: " + maxQueued + " (expected: >= 0)");
        this.maxQueuedPerEndpoint = maxQueued;
    }

    /** @return connections kept open to each {@linkplain #prewarm pre-warmed} endpoint */
    public int getMinConnections()
    {
        return minConnections;
    }

    /** Connections kept open to each {@linkplain #prewarm pre-warmed} endpoint; set before start. */
    public void setMinConnections(int minConnections)
    {
        if (minConnections < 0)
            throw new IllegalArgumentException("minConnections: " + minConnections + " (expected: >= 0)");
        checkNotStarted("minConnections");
        this.minConnections = minConnections;
    }

    /** @return the time from a PING ACK to the next PING on each connection; zero: no PINGs */
    public Duration getPingInterval()
    {
        return pingInterval;
    }

    /** The time from a PING ACK to the next PING on each connection; zero disables PINGs. Set before start. */
    public void setPingInterval(Duration pingInterval)
    {
        if (pingInterval.isNegative())
            throw new IllegalArgumentException("pingInterval: " + pingInterval + " (expected: >= 0)");
        checkNotStarted("pingInterval");
        this.pingInterval = pingInterval;
    }

    /** @return how long a PING ACK may take before its connection is declared dead */
    public Duration getPingTimeout()
    {
        return pingTimeout;
    }

    /** How long a PING ACK may take before its connection is declared dead. Set before start. */
    public void setPingTimeout(Duration pingTimeout)
    {
        if (pingTimeout.isNegative() || pingTimeout.isZero())
            throw new IllegalArgumentException("pingTimeout: " + pingTimeout + " (expected: > 0)");
        checkNotStarted("pingTimeout");
        this.pingTimeout = pingTimeout;
    }

    private void checkNotStarted(String what)
    {
        // Sessions read these when they are made: a change later would apply to some only.
        if (isStarted() || isStarting())
            throw new IllegalStateException("set " + what + " before starting " + this);
    }

    Scheduler scheduler()
    {
        return client.getScheduler();
    }

    Executor executor()
    {
        return client.getExecutor();
    }

    SocketAddressResolver resolver()
    {
        return resolver;
    }

    // ---- observation ----

    /** @return the pooled (ready, not draining) connections to {@code endpoint} */
    public int connectionCount(HostPort endpoint)
    {
        Http2Destination destination = destinations.get(endpoint);
        return destination == null ? 0 : destination.connectionCount();
    }

    /** @return the pooled connections to all endpoints */
    public int connectionCount()
    {
        return destinations.values().stream().mapToInt(Http2Destination::connectionCount).sum();
    }

    /** @return the streams (tunnels and pending CONNECTs) on the pooled connections to {@code endpoint} */
    public int streamCount(HostPort endpoint)
    {
        Http2Destination destination = destinations.get(endpoint);
        return destination == null ? 0 : destination.streamCount();
    }

    /** @return the streams on all pooled connections */
    public int streamCount()
    {
        return destinations.values().stream().mapToInt(Http2Destination::streamCount).sum();
    }

    /** @return the most streams one connection to {@code endpoint} has carried at once */
    public int peakStreamsPerConnection(HostPort endpoint)
    {
        Http2Destination destination = destinations.get(endpoint);
        return destination == null ? 0 : destination.peakStreamsPerConnection();
    }

    /** @return the requests waiting for a connection to {@code endpoint} */
    public int queuedCount(HostPort endpoint)
    {
        Http2Destination destination = destinations.get(endpoint);
        return destination == null ? 0 : destination.queued();
    }

    /** @return the connection attempts made to {@code endpoint} so far */
    public long connectAttempts(HostPort endpoint)
    {
        Http2Destination destination = destinations.get(endpoint);
        return destination == null ? 0 : destination.connectAttempts();
    }

    @Override
    public void dump(Appendable out, String indent) throws IOException
    {
        dumpObjects(out, indent, destinations.values().toArray());
    }

    @Override
    public String toString()
    {
        return "%s@%x[%s,maxStreams=%d,min=%d,connections=%d]".formatted(getClass().getSimpleName(), hashCode(),
            sslContextFactory == null ? "h2c" : "h2", maxStreamsPerConnection, minConnections, connectionCount());
    }
}
