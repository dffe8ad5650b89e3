package dev.adit.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One route: what it matches, and what happens to a matching request. Routes are tried in order;
 * the first that matches decides.
 *
 * @param name            the route's name, for logs and configuration keys
 * @param match           the conditions, all of which must hold
 * @param action          what to do with a match
 * @param denyStatus      the status a {@link Action#DENY} route answers
 * @param cluster         where {@link Action#TERMINATE} and {@link Action#PROXY} send the tunnel
 * @param upgradeEnabled  overrides the listener's upgrade setting for matching requests (Envoy's
 *                        route-level {@code upgrade_configs.enabled}); empty inherits it
 * @param allowPost       the route also takes POST requests whose body is the tunnel (Envoy's
 *                        {@code allow_post}); terminate only
 * @param proxyProtocol   overrides the cluster's PROXY protocol header; empty inherits it
 * @param headersToAdd    headers added to a forwarded CONNECT (proxy only), replacing any
 *                        header of the same name
 * @param headersToRemove headers removed from a forwarded CONNECT (proxy only)
 * @param allowedIdentities SPIFFE IDs and patterns ({@code dev.adit.tls.SpiffeIdPattern}) of
 *                        the client certificates this route serves; empty serves every client
 */
public record RouteConfig(String name, RouteMatch match, Action action, int denyStatus, String cluster, Optional<Boolean> upgradeEnabled,
                          boolean allowPost, Optional<ProxyProtocol> proxyProtocol, List<HeaderValue> headersToAdd, List<String> headersToRemove,
                          List<String> allowedIdentities)
{
    /** What a route does with a matching request. */
    public enum Action
    {
        /** Answer 200 and carry the tunnel's bytes to the cluster over TCP. */
        TERMINATE,
        /** Forward the CONNECT to the cluster, which terminates it; relay its answer. */
        PROXY,
        /** Answer {@link #denyStatus()}. */
        DENY
    }

    /**
     * A header to add.
     *
     * @param name  header name
     * @param value header value
     */
    public record HeaderValue(String name, String value)
    {
        public HeaderValue
        {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
        }
    }

    /** A route that serves every client, whatever its certificate. */
    public RouteConfig(String name, RouteMatch match, Action action, int denyStatus, String cluster, Optional<Boolean> upgradeEnabled,
                       boolean allowPost, Optional<ProxyProtocol> proxyProtocol, List<HeaderValue> headersToAdd, List<String> headersToRemove)
    {
        this(name, match, action, denyStatus, cluster, upgradeEnabled, allowPost, proxyProtocol, headersToAdd, headersToRemove, List.of());
    }

    public RouteConfig
    {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(match, "match");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(upgradeEnabled, "upgradeEnabled");
        Objects.requireNonNull(proxyProtocol, "proxyProtocol");
        headersToAdd = List.copyOf(headersToAdd);
        headersToRemove = List.copyOf(headersToRemove);
        allowedIdentities = List.copyOf(allowedIdentities);
    }

    /** The route used when none is configured: every plain CONNECT terminated to its own target. */
    public static RouteConfig defaultRoute()
    {
        return new RouteConfig("default", RouteMatch.ANY_CONNECT, Action.TERMINATE, 403, ClusterConfig.ORIGINAL_DST,
            Optional.empty(), false, Optional.empty(), List.of(), List.of());
    }
}
