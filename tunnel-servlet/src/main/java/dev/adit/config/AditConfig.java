package dev.adit.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The whole validated configuration of an Adit instance. Built by
 * {@code dev.adit.config.mp.ConfigBinder} from MicroProfile Config, or directly by embedders.
 *
 * @param listeners   the listening sockets
 * @param idleTimeout how long an HTTP connection with no tunnel and no request may stay open
 * @param tunnel      per-tunnel settings
 * @param http2       HTTP/2 settings of the listeners
 * @param policy      destination policy rules
 * @param routes      routes in the order they are tried
 * @param clusters    clusters by name, the built-in {@value ClusterConfig#ORIGINAL_DST} included
 * @param accessLog   the access log
 * @param encaps      encapsulating listeners: plain TCP in, tunnels out to a cluster
 */
public record AditConfig(List<ListenerConfig> listeners, Duration idleTimeout, TunnelConfig tunnel, Http2Config http2, PolicyConfig policy,
                         List<RouteConfig> routes, Map<String, ClusterConfig> clusters, AccessLogConfig accessLog, List<EncapConfig> encaps)
{
    /** A configuration with the default access log (on) and no encapsulating listeners. */
    public AditConfig(List<ListenerConfig> listeners, Duration idleTimeout, TunnelConfig tunnel, Http2Config http2, PolicyConfig policy,
                      List<RouteConfig> routes, Map<String, ClusterConfig> clusters)
    {
        this(listeners, idleTimeout, tunnel, http2, policy, routes, clusters, AccessLogConfig.DEFAULTS, List.of());
    }

    /** A configuration with the default route: every plain CONNECT terminated to its target. */
    public AditConfig(List<ListenerConfig> listeners, Duration idleTimeout, TunnelConfig tunnel, Http2Config http2, PolicyConfig policy)
    {
        this(listeners, idleTimeout, tunnel, http2, policy, List.of(RouteConfig.defaultRoute()),
            Map.of(ClusterConfig.ORIGINAL_DST, ClusterConfig.originalDestination(tunnel.connectTimeout())));
    }

    public AditConfig
    {
        routes = List.copyOf(routes);
        clusters = Map.copyOf(clusters);
        for (RouteConfig route : routes)
        {
            if (route.action() != RouteConfig.Action.DENY && !clusters.containsKey(route.cluster()))
                throw new IllegalArgumentException("route " + route.name() + ": unknown cluster " + route.cluster());
        }
        encaps = List.copyOf(encaps);
        for (EncapConfig encap : encaps)
        {
            ClusterConfig cluster = clusters.get(encap.cluster());
            if (cluster == null || cluster.type() != ClusterConfig.Type.STATIC)
                throw new IllegalArgumentException("encapsulating listener " + encap.name() + ": " + encap.cluster() + " is not a static cluster");
        }
        listeners = List.copyOf(listeners);
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(tunnel, "tunnel");
        Objects.requireNonNull(http2, "http2");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(accessLog, "accessLog");
    }

    public AditConfig withListeners(List<ListenerConfig> newListeners)
    {
        return new AditConfig(newListeners, idleTimeout, tunnel, http2, policy, routes, clusters, accessLog, encaps);
    }

    public AditConfig withAccessLog(AccessLogConfig newAccessLog)
    {
        return new AditConfig(listeners, idleTimeout, tunnel, http2, policy, routes, clusters, newAccessLog, encaps);
    }
}
