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
 */
public record ClusterConfig(String name, Type type, List<HostPort> endpoints, Duration connectTimeout, TlsClientConfig tls,
                            UpstreamProtocol protocol, int maxStreamsPerConnection, Duration poolIdleTimeout, ProxyProtocol proxyProtocol)
{
    /** The name of the built-in original-destination cluster. */
    public static final String ORIGINAL_DST = "original-dst";

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
        if (maxStreamsPerConnection < 1)
            throw new IllegalArgumentException("maxStreamsPerConnection " + maxStreamsPerConnection);
    }

    /** The built-in cluster that sends each tunnel to its own CONNECT target. */
    public static ClusterConfig originalDestination(Duration connectTimeout)
    {
        return new ClusterConfig(ORIGINAL_DST, Type.ORIGINAL_DST, List.of(), connectTimeout, TlsClientConfig.DISABLED,
            UpstreamProtocol.HTTP1, 100, Duration.ofMinutes(5), ProxyProtocol.NONE);
    }
}
