package dev.adit.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Where routes send tunnels: a set of endpoints, or the CONNECT target itself.
 *
 * @param name                    the cluster's name, referenced by routes
 * @param type                    how endpoints are found
 * @param endpoints               the endpoints of a {@link Type#STATIC} cluster, used round-robin;
 *                                names are resolved without blocking at each connect
 * @param connectTimeout          DNS plus TCP (plus TLS) connect bound
 * @param tls                     TLS to the endpoints
 * @param protocol                how a proxy route forwards the CONNECT to this cluster
 * @param maxStreamsPerConnection HTTP/2: tunnels per pooled connection (also bounded by the peer's
 *                                SETTINGS_MAX_CONCURRENT_STREAMS)
 * @param poolIdleTimeout         HTTP/2: a pooled connection with no tunnel for this long is closed
 * @param proxyProtocol           PROXY header written to the endpoint by terminating routes
 * @param minConnections          HTTP/2: connections kept open to each endpoint, from the start
 *                                (pre-warmed) and replaced when lost; 0 for none
 * @param pingInterval            HTTP/2: time from a PING ACK to the next PING on each pooled
 *                                connection; zero disables PINGs
 * @param pingTimeout             HTTP/2: a PING not answered within this marks its connection
 *                                dead: it is closed and its tunnels reset
 */
public record ClusterConfig(String name, Type type, List<HostPort> endpoints, Duration connectTimeout, TlsClientConfig tls,
                            UpstreamProtocol protocol, int maxStreamsPerConnection, Duration poolIdleTimeout, ProxyProtocol proxyProtocol,
                            int minConnections, Duration pingInterval, Duration pingTimeout)
{
    /** The name of the built-in original-destination cluster. */
    public static final String ORIGINAL_DST = "original-dst";
    /** PING interval of h2 clusters by default (Istio ztunnel's). */
    public static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(10);
    /** PING timeout of h2 clusters by default (Istio ztunnel's). */
    public static final Duration DEFAULT_PING_TIMEOUT = Duration.ofSeconds(20);

    /** How a cluster finds its endpoints. */
    public enum Type
    {
        /** Configured endpoints, round-robin. */
        STATIC,
        /** The CONNECT target is the endpoint; the destination policy applies to its resolved addresses. */
        ORIGINAL_DST
    }

    public ClusterConfig
    {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        endpoints = List.copyOf(endpoints);
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(poolIdleTimeout, "poolIdleTimeout");
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
        Objects.requireNonNull(pingInterval, "pingInterval");
        Objects.requireNonNull(pingTimeout, "pingTimeout");
        if (maxStreamsPerConnection < 1)
            throw new IllegalArgumentException("maxStreamsPerConnection " + maxStreamsPerConnection);
        if (minConnections < 0)
            throw new IllegalArgumentException("minConnections " + minConnections);
        if (pingInterval.isNegative() || pingTimeout.isNegative() || !pingInterval.isZero() && pingTimeout.isZero())
            throw new IllegalArgumentException("pingInterval " + pingInterval + ", pingTimeout " + pingTimeout);
    }

    /** A cluster without pre-warmed connections, with the default PING keepalive. */
    public ClusterConfig(String name, Type type, List<HostPort> endpoints, Duration connectTimeout, TlsClientConfig tls,
                         UpstreamProtocol protocol, int maxStreamsPerConnection, Duration poolIdleTimeout, ProxyProtocol proxyProtocol)
    {
        this(name, type, endpoints, connectTimeout, tls, protocol, maxStreamsPerConnection, poolIdleTimeout, proxyProtocol,
            0, DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT);
    }

    /** The built-in cluster that sends each tunnel to its own CONNECT target. */
    public static ClusterConfig originalDestination(Duration connectTimeout)
    {
        return new ClusterConfig(ORIGINAL_DST, Type.ORIGINAL_DST, List.of(), connectTimeout, TlsClientConfig.DISABLED,
            UpstreamProtocol.HTTP1, 100, Duration.ofMinutes(5), ProxyProtocol.NONE);
    }
}
