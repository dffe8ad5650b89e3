package dev.adit.config.mp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.adit.config.AccessLogConfig;
import dev.adit.config.AditConfig;
import dev.adit.config.ClusterConfig;
import dev.adit.config.ConfigException;
import dev.adit.config.EncapConfig;
import dev.adit.config.HeaderMatch;
import dev.adit.config.HostPort;
import dev.adit.config.Http2Config;
import dev.adit.config.ListenerConfig;
import dev.adit.config.PolicyConfig;
import dev.adit.config.ProxyProtocol;
import dev.adit.config.RouteConfig;
import dev.adit.config.RouteMatch;
import dev.adit.config.Size;
import dev.adit.config.Template;
import dev.adit.config.TlsClientConfig;
import dev.adit.config.TunnelConfig;
import dev.adit.config.UpstreamProtocol;
import dev.adit.policy.Authority;
import dev.adit.policy.DestinationPolicy;
import dev.adit.policy.DestinationRule;
import dev.adit.tls.SpiffeIdPattern;
import org.eclipse.microprofile.config.Config;

/**
 * The one place that reads MicroProfile Config: turns a {@link Config} into a validated
 * {@link AditConfig}, or throws a {@link ConfigException} listing every problem, one per key,
 * as {@code key: value (expected: ...)}. Unknown {@code adit.*} keys (and {@code ADIT_*}
 * environment variables) are problems too: a typo must not silently fall back to a default.
 */
public final class ConfigBinder
{
    private static final int MAX_WINDOW = Integer.MAX_VALUE;
    private static final Pattern NAME = Pattern.compile(ConfigKey.NAME_SYNTAX);
    private static final Pattern HEADER = Pattern.compile(ConfigKey.HEADER_SYNTAX);
    private static final Pattern TOKEN = HEADER;
    private static final Pattern CLUSTER_PROPERTY = Pattern.compile("adit\\.cluster\\.([^.]+)\\..+");
    private static final Pattern ROUTE_PROPERTY = Pattern.compile("adit\\.route\\.([^.]+)\\..+");
    private static final Pattern ENCAP_PROPERTY = Pattern.compile("adit\\.encap\\.([^.]+)\\..+");
    private static final InetSocketAddress SAMPLE_LOCAL = new InetSocketAddress(InetAddress.getLoopbackAddress(), 10000);
    private static final InetSocketAddress SAMPLE_REMOTE = new InetSocketAddress(InetAddress.getLoopbackAddress(), 40000);
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length");
    private static final int MIN_WINDOW = 65535;
    /** Pre-warmed connections per endpoint, at most: 100 connections of 100 streams is plenty, and a typo must not open thousands. */
    private static final int MAX_MIN_CONNECTIONS = 100;

    private final Config config;
    private final List<String> problems = new ArrayList<>();

    private ConfigBinder(Config config)
    {
        this.config = config;
    }

    /**
     * @throws ConfigException when any value is invalid or any {@code adit.} key is unknown
     */
    public static AditConfig bind(Config config)
    {
        return new ConfigBinder(config).bind();
    }

    private AditConfig bind()
    {
        checkUnknownKeys();
        Optional<Path> certChain = get(ConfigKeys.TLS_CERT_CHAIN, this::readableFile);
        Optional<Path> privateKey = get(ConfigKeys.TLS_PRIVATE_KEY, this::readableFile);
        if (certChain.isPresent() != privateKey.isPresent())
            problems.add(ConfigKeys.TLS_CERT_CHAIN.name() + " and " + ConfigKeys.TLS_PRIVATE_KEY.name() + ": only one is set (expected: both or neither)");
        ListenerConfig.ClientAuth clientAuth = value(ConfigKeys.TLS_CLIENT_AUTH, t -> choice(t, ListenerConfig.ClientAuth.class, "none, want or need"));
        List<Path> clientCa = clientCa(clientAuth);
        List<ListenerConfig> listeners = List.of(
            new ListenerConfig("http", value(ConfigKeys.HTTP_ENABLED, Values::bool), value(ConfigKeys.HTTP_HOST, this::host),
                value(ConfigKeys.HTTP_PORT, t -> Values.integer(t, 0, 65535)), Optional.empty(), Optional.empty(), upgrades(ConfigKeys.HTTP_UPGRADES)),
            new ListenerConfig("https", value(ConfigKeys.HTTPS_ENABLED, Values::bool), value(ConfigKeys.HTTPS_HOST, this::host),
                value(ConfigKeys.HTTPS_PORT, t -> Values.integer(t, 0, 65535)), certChain, privateKey, upgrades(ConfigKeys.HTTPS_UPGRADES),
                clientCa.isEmpty() ? ListenerConfig.ClientAuth.NONE : clientAuth, clientCa, tlsProtocols()));

        TunnelConfig tunnel = new TunnelConfig(
            value(ConfigKeys.TUNNEL_CONNECT_TIMEOUT, t -> positive(Values.duration(t))),
            value(ConfigKeys.TUNNEL_IDLE_TIMEOUT, Values::duration),
            value(ConfigKeys.TUNNEL_MAX_DURATION, Values::duration),
            value(ConfigKeys.TUNNEL_BUFFER_SIZE, t -> size(t, 1024, 16 * 1024 * 1024)));

        Size streamWindow = value(ConfigKeys.H2_INITIAL_STREAM_WINDOW, t -> size(t, MIN_WINDOW, MAX_WINDOW));
        Size sessionWindow = value(ConfigKeys.H2_INITIAL_SESSION_WINDOW, t -> size(t, MIN_WINDOW, MAX_WINDOW));
        if (streamWindow != null && sessionWindow != null && sessionWindow.bytes() < streamWindow.bytes())
            problems.add(ConfigKeys.H2_INITIAL_SESSION_WINDOW.name() + ": " + sessionWindow + " (expected: at least " + ConfigKeys.H2_INITIAL_STREAM_WINDOW.name() + " = " + streamWindow + ")");
        Http2Config http2 = new Http2Config(
            value(ConfigKeys.H2_MAX_CONCURRENT_STREAMS, t -> Values.integer(t, 1, 1_000_000)),
            orDefault(streamWindow, Http2Config.DEFAULTS.initialStreamWindow()),
            orDefault(sessionWindow, Http2Config.DEFAULTS.initialSessionWindow()),
            value(ConfigKeys.H2_STREAM_IDLE_TIMEOUT, t -> positive(Values.duration(t))),
            value(ConfigKeys.H2_MAX_FRAME_SIZE, t -> size(t, Http2Config.MIN_FRAME_SIZE, Http2Config.MAX_FRAME_SIZE)));

        PolicyConfig policy = new PolicyConfig(rules(ConfigKeys.POLICY_ALLOW), rules(ConfigKeys.POLICY_DENY),
            value(ConfigKeys.POLICY_ALLOW_OPEN_PROXY, Values::bool));

        Map<String, ClusterConfig> clusters = clusters(tunnel.connectTimeout());
        List<RouteConfig> routes = routes(clusters);
        checkOpenProxy(listeners, policy, routes, clusters);
        List<EncapConfig> encaps = encaps(clusters);

        Duration idleTimeout = value(ConfigKeys.SERVER_IDLE_TIMEOUT, t -> positive(Values.duration(t)));
        AccessLogConfig accessLog = new AccessLogConfig(value(ConfigKeys.ACCESS_LOG_ENABLED, Values::bool));
        if (!problems.isEmpty())
            throw new ConfigException(problems);
        return new AditConfig(listeners, idleTimeout, tunnel, http2, policy, routes, clusters, accessLog, encaps);
    }

    private void checkUnknownKeys()
    {
        for (String name : config.getPropertyNames())
        {
            if (name.startsWith("adit."))
            {
                // List keys may also be written indexed: adit.policy.allow[0]
                String base = name.replaceAll("\\[\\d+]$", "");
                if (!ConfigKeys.BY_NAME.containsKey(base) && ConfigKeys.TEMPLATES.stream().noneMatch(p -> p.matcher(base).matches()))
                    problems.add(name + ": unknown key (expected: one of the keys listed in the README)");
            }
            else if (name.startsWith("ADIT_") && !name.startsWith("ADIT_ROUTE_") && !name.startsWith("ADIT_CLUSTER_") && !name.startsWith("ADIT_ENCAP_")
                && !ConfigKeys.BY_ENVIRONMENT_NAME.containsKey(name.replaceAll("_\\d+_?$", "")))
            {
                problems.add(name + ": unknown environment variable (expected: ADIT_ followed by a documented key, such as ADIT_HTTP_PORT)");
            }
        }
    }

    private void checkOpenProxy(List<ListenerConfig> listeners, PolicyConfig policy, List<RouteConfig> routes, Map<String, ClusterConfig> clusters)
    {
        if (!problems.isEmpty() || !isOpenProxy(policy, routes, clusters))
            return;
        for (ListenerConfig listener : listeners)
        {
            if (listener.enabled() && !isLoopback(listener.host()))
            {
                String key = listener.isTls() ? ConfigKeys.HTTPS_HOST.name() : ConfigKeys.HTTP_HOST.name();
                problems.add(key + ": " + listener.host() + " (expected: a loopback address while " + ConfigKeys.POLICY_ALLOW.name()
                    + " allows every destination and there is no authentication; restrict the policy, or set "
                    + ConfigKeys.POLICY_ALLOW_OPEN_PROXY.name() + "=true to run an open proxy on purpose)");
            }
        }
    }

    /**
     * Whether {@code config} would serve anyone any destination, unless bound to loopback: its
     * policy allows every destination, {@code adit.policy.allow-open-proxy} does not consent, and
     * a route without {@code allowed-identities} terminates to the client's own target. Servers
     * whose listeners are not Adit's (the Jetty module) check their connectors with this.
     */
    public static boolean isOpenProxy(AditConfig config)
    {
        return isOpenProxy(config.policy(), config.routes(), config.clusters());
    }

    private static boolean isOpenProxy(PolicyConfig policy, List<RouteConfig> routes, Map<String, ClusterConfig> clusters)
    {
        if (policy.allowOpenProxy() || !DestinationPolicy.of(policy).allowsEverything())
            return false;
        // Only routes that reach the client's own target make an open proxy, and not when they
        // serve only clients with an allowed certificate identity.
        return routes.stream().anyMatch(r -> r.action() == RouteConfig.Action.TERMINATE
            && clusters.get(r.cluster()).type() == ClusterConfig.Type.ORIGINAL_DST && r.allowedIdentities().isEmpty());
    }

    /** @return whether every address {@code host} names is a loopback address */
    public static boolean isLoopback(String host)
    {
        try
        {
            for (InetAddress address : InetAddress.getAllByName(host))
            {
                if (!address.isLoopbackAddress())
                    return false;
            }
            return true;
        }
        catch (UnknownHostException x)
        {
            return false;
        }
    }

    /** @return the client CA files, empty when client-auth is none or a problem was reported */
    private List<Path> clientCa(ListenerConfig.ClientAuth clientAuth)
    {
        String key = ConfigKeys.TLS_CLIENT_CA.name();
        List<Path> files = new ArrayList<>();
        for (String item : list(key, ""))
        {
            try
            {
                files.add(readableFile(item));
            }
            catch (IllegalArgumentException x)
            {
                problems.add(key + ": " + item + " (expected: readable PEM files of CA certificates)");
            }
        }
        boolean none = clientAuth == ListenerConfig.ClientAuth.NONE;
        if (!none && files.isEmpty() && list(key, "").isEmpty())
            problems.add(key + ": (none) (expected: PEM files of the CAs that sign client certificates, since "
                + ConfigKeys.TLS_CLIENT_AUTH.name() + "=" + clientAuth.name().toLowerCase(Locale.ROOT) + ")");
        if (none && !files.isEmpty())
            problems.add(ConfigKeys.TLS_CLIENT_AUTH.name() + ": none (expected: want or need, since " + key + " is set)");
        return none ? List.of() : files;
    }

    private List<String> tlsProtocols()
    {
        String key = ConfigKeys.TLS_PROTOCOLS.name();
        List<String> protocols = new ArrayList<>();
        for (String item : list(key, ""))
        {
            // The JDK's names, which are case-sensitive: TLSv1.3, not tlsv1.3.
            String protocol = item.equalsIgnoreCase("TLSv1.2") ? "TLSv1.2" : item.equalsIgnoreCase("TLSv1.3") ? "TLSv1.3" : null;
            if (protocol == null)
                problems.add(key + ": " + item + " (expected: TLSv1.2 or TLSv1.3)");
            else if (!protocols.contains(protocol))
                protocols.add(protocol);
        }
        return protocols;
    }

    private Set<String> upgrades(ConfigKey key)
    {
        Set<String> upgrades = new LinkedHashSet<>();
        for (String item : list(key.name(), key.defaultValue()))
        {
            String token = item.toLowerCase(Locale.ROOT);
            if (token.equals("none"))
                continue;
            if (!TOKEN.matcher(token).matches())
                problems.add(key.name() + ": " + item + " (expected: CONNECT, an extended CONNECT :protocol token such as websocket, or none)");
            else
                upgrades.add(token);
        }
        return upgrades;
    }

    private Map<String, ClusterConfig> clusters(Duration defaultConnectTimeout)
    {
        Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
        clusters.put(ClusterConfig.ORIGINAL_DST, ClusterConfig.originalDestination(defaultConnectTimeout));
        Set<String> names = new TreeSet<>();
        for (String property : config.getPropertyNames())
        {
            Matcher m = CLUSTER_PROPERTY.matcher(property);
            if (m.matches())
                names.add(m.group(1));
        }
        for (String name : names)
        {
            if (name.equals(ClusterConfig.ORIGINAL_DST))
            {
                problems.add("adit.cluster." + name + ": " + name + " (expected: another name; original-dst is the built-in cluster)");
                continue;
            }
            ClusterConfig cluster = cluster(name, defaultConnectTimeout);
            if (cluster != null)
                clusters.put(name, cluster);
        }
        return clusters;
    }

    private ClusterConfig cluster(String name, Duration defaultConnectTimeout)
    {
        int before = problems.size();
        ClusterConfig.Type type = value(ConfigKeys.CLUSTER_TYPE, "cluster", name, t -> choice(t, ClusterConfig.Type.class, "static or original-dst"));
        String endpointsKey = ConfigKeys.CLUSTER_ENDPOINTS.with("cluster", name);
        List<HostPort> endpoints = new ArrayList<>();
        for (String item : list(endpointsKey, ""))
        {
            try
            {
                Authority authority = Authority.parse(item);
                endpoints.add(new HostPort(authority.host(), authority.port()));
            }
            catch (IllegalArgumentException x)
            {
                problems.add(endpointsKey + ": " + item + " (expected: host:port with a port from 1 to 65535, [IPv6]:port for IPv6; " + x.getMessage() + ")");
            }
        }
        if (type == ClusterConfig.Type.STATIC && endpoints.isEmpty() && problems.size() == before)
            problems.add(endpointsKey + ": (none) (expected: at least one host:port for a static cluster)");
        if (type == ClusterConfig.Type.ORIGINAL_DST && !endpoints.isEmpty())
            problems.add(endpointsKey + ": " + String.join(",", list(endpointsKey, "")) + " (expected: no endpoints; an original-dst cluster connects to the CONNECT target)");
        Duration connectTimeout = value(ConfigKeys.CLUSTER_CONNECT_TIMEOUT, "cluster", name, t -> t.isBlank() ? defaultConnectTimeout : positive(Values.duration(t)));
        UpstreamProtocol protocol = value(ConfigKeys.CLUSTER_PROTOCOL, "cluster", name, t -> choice(t, UpstreamProtocol.class, "http1 or h2"));
        int maxStreams = value(ConfigKeys.CLUSTER_MAX_STREAMS, "cluster", name, t -> Values.integer(t, 1, 1_000_000));
        Duration poolIdle = value(ConfigKeys.CLUSTER_POOL_IDLE_TIMEOUT, "cluster", name, t -> positive(Values.duration(t)));
        int minConnections = value(ConfigKeys.CLUSTER_MIN_CONNECTIONS, "cluster", name, t -> Values.integer(t, 0, MAX_MIN_CONNECTIONS));
        if (minConnections > 0 && (protocol != UpstreamProtocol.H2 || type != ClusterConfig.Type.STATIC))
            problems.add(ConfigKeys.CLUSTER_MIN_CONNECTIONS.with("cluster", name) + ": " + minConnections
                + " (expected: 0; only a static cluster with protocol h2 pools connections to keep open)");
        Duration pingInterval = value(ConfigKeys.CLUSTER_PING_INTERVAL, "cluster", name, Values::duration);
        Duration pingTimeout = value(ConfigKeys.CLUSTER_PING_TIMEOUT, "cluster", name, Values::duration);
        if (!pingInterval.isZero() && pingTimeout.isZero())
            problems.add(ConfigKeys.CLUSTER_PING_TIMEOUT.with("cluster", name) + ": 0 (expected: a duration above zero, since "
                + ConfigKeys.CLUSTER_PING_INTERVAL.with("cluster", name) + " is not 0)");
        ProxyProtocol proxyProtocol = value(ConfigKeys.CLUSTER_PROXY_PROTOCOL, "cluster", name, t -> choice(t, ProxyProtocol.class, "none, v1 or v2"));
        TlsClientConfig tls = clusterTls(name);
        if (problems.size() > before)
            return null;
        return new ClusterConfig(name, type, endpoints, connectTimeout, tls, protocol, maxStreams, poolIdle, proxyProtocol,
            minConnections, pingInterval, pingTimeout);
    }

    private TlsClientConfig clusterTls(String name)
    {
        boolean enabled = value(ConfigKeys.CLUSTER_TLS_ENABLED, "cluster", name, Values::bool);
        Optional<Path> ca = get(ConfigKeys.CLUSTER_TLS_CA.with("cluster", name), this::readableFile);
        String chainKey = ConfigKeys.CLUSTER_TLS_CERT_CHAIN.with("cluster", name);
        String keyKey = ConfigKeys.CLUSTER_TLS_PRIVATE_KEY.with("cluster", name);
        Optional<Path> chain = get(chainKey, this::readableFile);
        Optional<Path> key = get(keyKey, this::readableFile);
        if (chain.isPresent() != key.isPresent())
            problems.add(chainKey + " and " + keyKey + ": only one is set (expected: both or neither)");
        Optional<String> sni = get(ConfigKeys.CLUSTER_TLS_SNI.with("cluster", name), this::host);
        List<String> alpn = list(ConfigKeys.CLUSTER_TLS_ALPN.with("cluster", name), "");
        String pinsKey = ConfigKeys.CLUSTER_TLS_SPKI_PINS.with("cluster", name);
        List<String> pins = new ArrayList<>();
        for (String pin : list(pinsKey, ""))
        {
            try
            {
                if (Base64.getDecoder().decode(pin).length == 32)
                {
                    pins.add(pin);
                    continue;
                }
            }
            catch (IllegalArgumentException ignored)
            {
                // reported below
            }
            problems.add(pinsKey + ": " + pin + " (expected: the base64 SHA-256 of a SubjectPublicKeyInfo, 44 characters)");
        }
        String spiffeKey = ConfigKeys.CLUSTER_TLS_SPIFFE_IDS.with("cluster", name);
        List<String> spiffeIds = new ArrayList<>();
        for (String id : list(spiffeKey, ""))
        {
            try
            {
                SpiffeIdPattern.parse(id);
                spiffeIds.add(id);
            }
            catch (IllegalArgumentException x)
            {
                problems.add(spiffeKey + ": " + id + " (expected: a SPIFFE ID such as spiffe://cluster.local/ns/default/sa/server,"
                    + " with * for one segment or a last ** for the rest; " + x.getMessage() + ")");
            }
        }
        // The SPIFFE ID authenticates the endpoint; SVIDs rarely name a host.
        boolean verifyHostname = get(ConfigKeys.CLUSTER_TLS_VERIFY_HOSTNAME.with("cluster", name), Values::bool).orElse(spiffeIds.isEmpty());
        if (!enabled && (ca.isPresent() || chain.isPresent() || sni.isPresent() || !pins.isEmpty() || !spiffeIds.isEmpty()))
            problems.add(ConfigKeys.CLUSTER_TLS_ENABLED.with("cluster", name) + ": false (expected: true, since other tls keys of cluster " + name + " are set)");
        return new TlsClientConfig(enabled, ca, chain, key, sni, alpn, pins, verifyHostname, spiffeIds);
    }

    private List<RouteConfig> routes(Map<String, ClusterConfig> clusters)
    {
        List<String> names = list(ConfigKeys.ROUTES.name(), "");
        Set<String> declared = new LinkedHashSet<>();
        for (String name : names)
        {
            if (!NAME.matcher(name).matches())
                problems.add(ConfigKeys.ROUTES.name() + ": " + name + " (expected: route names of lower-case letters, digits and dashes)");
            else if (!declared.add(name))
                problems.add(ConfigKeys.ROUTES.name() + ": " + name + " (expected: each route named once)");
        }
        // A route configured but not listed is a typo waiting to happen.
        for (String property : config.getPropertyNames())
        {
            Matcher m = ROUTE_PROPERTY.matcher(property);
            if (m.matches() && !declared.contains(m.group(1)))
                problems.add(property + ": route " + m.group(1) + " is not listed (expected: " + ConfigKeys.ROUTES.name() + " to name it)");
        }
        if (names.isEmpty())
            return List.of(RouteConfig.defaultRoute());
        List<RouteConfig> routes = new ArrayList<>();
        for (String name : declared)
        {
            RouteConfig route = route(name, clusters);
            if (route != null)
                routes.add(route);
        }
        return routes;
    }

    private RouteConfig route(String name, Map<String, ClusterConfig> clusters)
    {
        int before = problems.size();
        RouteConfig.Action action = value(ConfigKeys.ROUTE_ACTION, "route", name, t -> choice(t, RouteConfig.Action.class, "terminate, proxy or deny"));
        String clusterKey = ConfigKeys.ROUTE_CLUSTER.with("route", name);
        String clusterName = value(ConfigKeys.ROUTE_CLUSTER, "route", name, String::trim);
        ClusterConfig cluster = clusters.get(clusterName);
        if (cluster == null && action != RouteConfig.Action.DENY)
        {
            if (!definesCluster(clusterName))
                problems.add(clusterKey + ": " + clusterName + " (expected: original-dst or a cluster configured with adit.cluster." + clusterName + ".*)");
            return null;
        }
        int denyStatus = value(ConfigKeys.ROUTE_DENY_STATUS, "route", name, t -> Values.integer(t, 400, 599));
        Optional<Boolean> upgradeEnabled = get(ConfigKeys.ROUTE_UPGRADE_ENABLED.with("route", name), Values::bool);
        boolean allowPost = value(ConfigKeys.ROUTE_ALLOW_POST, "route", name, Values::bool);
        Optional<ProxyProtocol> proxyProtocol = get(ConfigKeys.ROUTE_PROXY_PROTOCOL.with("route", name), t -> choice(t, ProxyProtocol.class, "none, v1 or v2"));
        List<RouteConfig.HeaderValue> toAdd = new ArrayList<>();
        String addKey = ConfigKeys.ROUTE_HEADERS_TO_ADD.with("route", name);
        for (String item : list(addKey, ""))
        {
            int colon = item.indexOf(':');
            String header = colon < 0 ? "" : item.substring(0, colon).trim().toLowerCase(Locale.ROOT);
            if (colon < 1 || !HEADER.matcher(header).matches() || isHopByHopOrPseudo(header))
                problems.add(addKey + ": " + item + " (expected: name: value, with a header name that is not hop-by-hop, host or pseudo)");
            else
                toAdd.add(new RouteConfig.HeaderValue(header, item.substring(colon + 1).trim()));
        }
        String removeKey = ConfigKeys.ROUTE_HEADERS_TO_REMOVE.with("route", name);
        List<String> toRemove = new ArrayList<>();
        for (String item : list(removeKey, ""))
        {
            String header = item.toLowerCase(Locale.ROOT);
            if (!HEADER.matcher(header).matches())
                problems.add(removeKey + ": " + item + " (expected: header names)");
            else
                toRemove.add(header);
        }
        List<String> allowedIdentities = allowedIdentities(name, action);
        RouteMatch match = match(name);
        String actionKey = ConfigKeys.ROUTE_ACTION.with("route", name);
        if (action == RouteConfig.Action.PROXY && cluster != null)
        {
            if (cluster.type() != ClusterConfig.Type.STATIC)
                problems.add(clusterKey + ": " + clusterName + " (expected: a static cluster; a proxy route forwards the CONNECT to configured endpoints)");
            if (match != null && match.connect() != RouteMatch.Connect.PLAIN && cluster.protocol() != UpstreamProtocol.H2)
                problems.add(ConfigKeys.ROUTE_MATCH_CONNECT.with("route", name) + ": " + match.connect().name().toLowerCase(Locale.ROOT)
                    + " (expected: plain, since extended CONNECT can be forwarded only to an h2 cluster and " + clusterName + " is http1)");
        }
        if (allowPost && action != RouteConfig.Action.TERMINATE)
            problems.add(ConfigKeys.ROUTE_ALLOW_POST.with("route", name) + ": true (expected: false, or " + actionKey + "=terminate: POST tunnels are terminated)");
        if (problems.size() > before || match == null)
            return null;
        return new RouteConfig(name, match, action, denyStatus, clusterName, upgradeEnabled, allowPost, proxyProtocol, toAdd, toRemove,
            allowedIdentities);
    }

    private List<String> allowedIdentities(String route, RouteConfig.Action action)
    {
        String key = ConfigKeys.ROUTE_ALLOWED_IDENTITIES.with("route", route);
        List<String> identities = new ArrayList<>();
        for (String item : list(key, ""))
        {
            try
            {
                SpiffeIdPattern.parse(item);
                identities.add(item);
            }
            catch (IllegalArgumentException x)
            {
                problems.add(key + ": " + item + " (expected: a SPIFFE ID such as spiffe://cluster.local/ns/default/sa/client,"
                    + " with * for one segment or a last ** for the rest; " + x.getMessage() + ")");
            }
        }
        if (!identities.isEmpty() && action == RouteConfig.Action.DENY)
            problems.add(key + ": " + String.join(",", identities) + " (expected: unset, since a deny route serves no client)");
        return identities;
    }

    private RouteMatch match(String route)
    {
        int before = problems.size();
        RouteMatch.Connect connect = value(ConfigKeys.ROUTE_MATCH_CONNECT, "route", route, t -> choice(t, RouteMatch.Connect.class, "plain, extended or any"));
        String protocolsKey = ConfigKeys.ROUTE_MATCH_PROTOCOLS.with("route", route);
        List<String> protocols = new ArrayList<>();
        for (String item : list(protocolsKey, ""))
        {
            String token = item.toLowerCase(Locale.ROOT);
            if (!TOKEN.matcher(token).matches())
                problems.add(protocolsKey + ": " + item + " (expected: :protocol tokens such as websocket)");
            else
                protocols.add(token);
        }
        if (!protocols.isEmpty() && connect == RouteMatch.Connect.PLAIN)
            problems.add(protocolsKey + ": " + String.join(",", protocols) + " (expected: unset, or " + ConfigKeys.ROUTE_MATCH_CONNECT.with("route", route) + "=extended or any)");
        String authorityKey = ConfigKeys.ROUTE_MATCH_AUTHORITY.with("route", route);
        List<String> authorities = new ArrayList<>();
        for (String item : list(authorityKey, ""))
        {
            try
            {
                DestinationRule.parse(item);
                authorities.add(item);
            }
            catch (IllegalArgumentException x)
            {
                problems.add(authorityKey + ": " + item + " (expected: " + expectation(x) + ")");
            }
        }
        Optional<String> pathPrefix = get(ConfigKeys.ROUTE_MATCH_PATH_PREFIX.with("route", route), t ->
        {
            if (!t.startsWith("/"))
                throw new IllegalArgumentException("a path starting with /");
            return t;
        });
        List<HeaderMatch> headers = new ArrayList<>();
        Map<String, List<String>> conditionsByHeader = new TreeMap<>();
        String headerPrefix = "adit.route." + route + ".match.header.";
        for (String property : config.getPropertyNames())
        {
            if (!property.startsWith(headerPrefix))
                continue;
            String rest = property.substring(headerPrefix.length());
            int dot = rest.lastIndexOf('.');
            if (dot <= 0)
                continue; // reported as an unknown key
            conditionsByHeader.computeIfAbsent(rest.substring(0, dot), h -> new ArrayList<>()).add(rest.substring(dot + 1));
        }
        for (Map.Entry<String, List<String>> entry : conditionsByHeader.entrySet())
        {
            String header = entry.getKey();
            List<String> kinds = entry.getValue();
            String base = headerPrefix + header + ".";
            if (kinds.size() > 1)
            {
                problems.add(base + "*: " + String.join(", ", kinds) + " (expected: one condition per header: exact, prefix, regex or present)");
                continue;
            }
            String kind = kinds.get(0);
            String property = base + kind;
            String text = config.getOptionalValue(property, String.class).orElse("");
            switch (kind)
            {
                case "exact" -> headers.add(new HeaderMatch(header, HeaderMatch.Kind.EXACT, text));
                case "prefix" -> headers.add(new HeaderMatch(header, HeaderMatch.Kind.PREFIX, text));
                case "regex" ->
                {
                    try
                    {
                        headers.add(new HeaderMatch(header, HeaderMatch.Kind.REGEX, text));
                    }
                    catch (PatternSyntaxException x)
                    {
                        problems.add(property + ": " + text + " (expected: a Java regular expression; " + x.getDescription() + " at index " + x.getIndex() + ")");
                    }
                }
                case "present" ->
                {
                    try
                    {
                        boolean present = Values.bool(text);
                        headers.add(new HeaderMatch(header, present ? HeaderMatch.Kind.PRESENT : HeaderMatch.Kind.ABSENT, ""));
                    }
                    catch (IllegalArgumentException x)
                    {
                        problems.add(property + ": " + text + " (expected: true or false)");
                    }
                }
                default ->
                {
                    // Unknown condition names are reported by checkUnknownKeys.
                }
            }
        }
        if (problems.size() > before)
            return null;
        return new RouteMatch(connect, protocols, authorities, headers, pathPrefix);
    }

    private List<EncapConfig> encaps(Map<String, ClusterConfig> clusters)
    {
        List<String> names = list(ConfigKeys.ENCAPS.name(), "");
        Set<String> declared = new LinkedHashSet<>();
        for (String name : names)
        {
            if (!NAME.matcher(name).matches())
                problems.add(ConfigKeys.ENCAPS.name() + ": " + name + " (expected: listener names of lower-case letters, digits and dashes)");
            else if (name.equals("http") || name.equals("https"))
                problems.add(ConfigKeys.ENCAPS.name() + ": " + name + " (expected: another name; http and https are the HTTP listeners)");
            else if (!declared.add(name))
                problems.add(ConfigKeys.ENCAPS.name() + ": " + name + " (expected: each listener named once)");
        }
        for (String property : config.getPropertyNames())
        {
            Matcher m = ENCAP_PROPERTY.matcher(property);
            if (m.matches() && !declared.contains(m.group(1)))
                problems.add(property + ": encapsulating listener " + m.group(1) + " is not listed (expected: " + ConfigKeys.ENCAPS.name() + " to name it)");
        }
        List<EncapConfig> encaps = new ArrayList<>();
        for (String name : declared)
        {
            EncapConfig encap = encap(name, clusters);
            if (encap != null)
                encaps.add(encap);
        }
        return encaps;
    }

    private EncapConfig encap(String name, Map<String, ClusterConfig> clusters)
    {
        int before = problems.size();
        String host = value(ConfigKeys.ENCAP_HOST, "encap", name, this::host);
        String portKey = ConfigKeys.ENCAP_PORT.with("encap", name);
        Optional<Integer> port = get(portKey, t -> Values.integer(t, 0, 65535));
        if (port.isEmpty() && problems.size() == before)
            problems.add(portKey + ": (none) (expected: a port from 0 to 65535)");
        String clusterKey = ConfigKeys.ENCAP_CLUSTER.with("encap", name);
        String clusterName = value(ConfigKeys.ENCAP_CLUSTER, "encap", name, String::trim);
        ClusterConfig cluster = clusters.get(clusterName);
        if (clusterName.isEmpty())
            problems.add(clusterKey + ": (none) (expected: the name of a static cluster)");
        else if (cluster == null)
        {
            if (!definesCluster(clusterName))
                problems.add(clusterKey + ": " + clusterName + " (expected: a cluster configured with adit.cluster." + clusterName + ".*)");
        }
        else if (cluster.type() != ClusterConfig.Type.STATIC)
            problems.add(clusterKey + ": " + clusterName + " (expected: a static cluster; the tunnels go to its endpoints)");
        EncapConfig.Mode mode = value(ConfigKeys.ENCAP_MODE, "encap", name, t -> choice(t, EncapConfig.Mode.class, "connect or post"));
        String hostnameKey = ConfigKeys.ENCAP_HOSTNAME.with("encap", name);
        Optional<Template> hostname = get(hostnameKey, this::targetTemplate);
        if (hostname.isEmpty() && problems.size() == before)
            problems.add(hostnameKey + ": (none) (expected: the CONNECT target, host:port, e.g. backend.internal:8080 or %DOWNSTREAM_LOCAL_ADDRESS%)");
        String postPath = value(ConfigKeys.ENCAP_POST_PATH, "encap", name, t ->
        {
            if (!t.startsWith("/") || t.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f))
                throw new IllegalArgumentException("an absolute path starting with /, without spaces or control characters");
            return t;
        });
        List<EncapConfig.Header> headers = new ArrayList<>();
        String headerPrefix = "adit.encap." + name + ".header.";
        Set<String> headerProperties = new TreeSet<>();
        for (String property : config.getPropertyNames())
        {
            if (property.startsWith(headerPrefix))
                headerProperties.add(property);
        }
        for (String property : headerProperties)
        {
            String header = property.substring(headerPrefix.length());
            if (!HEADER.matcher(header).matches() || isHopByHopOrPseudo(header) || header.equals("host"))
            {
                problems.add(property + ": " + header + " (expected: a lower-case header name that is not hop-by-hop, host or pseudo)");
                continue;
            }
            String text = config.getOptionalValue(property, String.class).orElse("");
            try
            {
                headers.add(new EncapConfig.Header(header, Template.parse(text.trim())));
            }
            catch (IllegalArgumentException x)
            {
                problems.add(property + ": " + text + " (expected: " + expectation(x) + ")");
            }
        }
        boolean forwarded = value(ConfigKeys.ENCAP_FORWARDED, "encap", name, Values::bool);
        if (problems.size() > before || cluster == null || port.isEmpty() || hostname.isEmpty())
            return null;
        return new EncapConfig(name, host, port.get(), clusterName, mode, hostname.get(), postPath, headers, forwarded);
    }

    /** A CONNECT target template: its operators known, and a valid host:port once filled in. */
    private Template targetTemplate(String text)
    {
        Template template = Template.parse(text.trim());
        String sample = template.render(SAMPLE_LOCAL, SAMPLE_REMOTE);
        try
        {
            Authority.parse(sample);
        }
        catch (IllegalArgumentException x)
        {
            throw new IllegalArgumentException("host:port once filled in; " + sample + " is not (" + x.getMessage() + ")");
        }
        return template;
    }

    private boolean definesCluster(String name)
    {
        String prefix = "adit.cluster." + name + ".";
        for (String property : config.getPropertyNames())
        {
            if (property.startsWith(prefix))
                return true;
        }
        return false;
    }

    private static boolean isHopByHopOrPseudo(String header)
    {
        return header.startsWith(":") || HOP_BY_HOP.contains(header);
    }

    private static <E extends Enum<E>> E choice(String text, Class<E> type, String expected)
    {
        String name = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E constant : type.getEnumConstants())
        {
            if (constant.name().equals(name))
                return constant;
        }
        throw new IllegalArgumentException(expected);
    }

    private List<String> list(String key, String defaultValue)
    {
        List<String> texts = config.getOptionalValues(key, String.class)
            .orElseGet(() -> defaultValue.isEmpty() ? List.of() : List.of(defaultValue.split(",")));
        List<String> items = new ArrayList<>();
        for (String text : texts)
        {
            String item = text.trim();
            if (!item.isEmpty())
                items.add(item);
        }
        return items;
    }

    private <T> T value(ConfigKey template, String part, String name, Function<String, T> parser)
    {
        String key = template.with(part, name);
        String text = config.getOptionalValue(key, String.class).orElse(template.defaultValue());
        try
        {
            return parser.apply(text);
        }
        catch (IllegalArgumentException x)
        {
            problems.add(key + ": " + text + " (expected: " + expectation(x) + ")");
            return parser.apply(template.defaultValue());
        }
    }

    private List<String> rules(ConfigKey key)
    {
        List<String> texts = config.getOptionalValues(key.name(), String.class)
            .orElseGet(() -> key.defaultValue().isEmpty() ? List.of() : List.of(key.defaultValue().split(",")));
        List<String> rules = new ArrayList<>();
        for (String text : texts)
        {
            String rule = text.trim();
            if (rule.isEmpty())
                continue;
            try
            {
                DestinationRule.parse(rule);
                rules.add(rule);
            }
            catch (IllegalArgumentException x)
            {
                problems.add(key.name() + ": " + rule + " (expected: " + expectation(x) + ")");
            }
        }
        return rules;
    }

    private <T> T value(ConfigKey key, Function<String, T> parser)
    {
        String text = config.getOptionalValue(key.name(), String.class).orElse(key.defaultValue());
        try
        {
            return parser.apply(text);
        }
        catch (IllegalArgumentException x)
        {
            problems.add(key.name() + ": " + text + " (expected: " + expectation(x) + ")");
            return parser.apply(key.defaultValue());
        }
    }

    private <T> Optional<T> get(ConfigKey key, Function<String, T> parser)
    {
        return get(key.name(), parser);
    }

    private <T> Optional<T> get(String key, Function<String, T> parser)
    {
        Optional<String> text = config.getOptionalValue(key, String.class).filter(t -> !t.isBlank());
        if (text.isEmpty())
            return Optional.empty();
        try
        {
            return Optional.of(parser.apply(text.get()));
        }
        catch (IllegalArgumentException x)
        {
            problems.add(key + ": " + text.get() + " (expected: " + expectation(x) + ")");
            return Optional.empty();
        }
    }

    private static String expectation(IllegalArgumentException x)
    {
        String message = x.getMessage();
        // Parsers in dev.adit.policy phrase their messages as `"text" (expected: ...)`.
        int at = message == null ? -1 : message.indexOf("(expected: ");
        if (at >= 0)
            return message.substring(at + "(expected: ".length(), message.lastIndexOf(')'));
        return message;
    }

    private Path readableFile(String text)
    {
        Path path = Path.of(text.trim());
        if (!Files.isRegularFile(path) || !Files.isReadable(path))
            throw new IllegalArgumentException("a readable file");
        return path;
    }

    private String host(String text)
    {
        String host = text.trim();
        if (host.isEmpty() || host.chars().anyMatch(c -> c <= ' ' || c == '/' || c == '@'))
            throw new IllegalArgumentException("an IP address or host name");
        return host;
    }

    private static Duration positive(Duration duration)
    {
        if (duration.isZero())
            throw new IllegalArgumentException("a duration above zero");
        return duration;
    }

    private static Size size(String text, long min, long max)
    {
        Size size;
        try
        {
            size = Size.parse(text);
        }
        catch (IllegalArgumentException | ArithmeticException x)
        {
            size = null;
        }
        if (size == null || size.bytes() < min || size.bytes() > max)
            throw new IllegalArgumentException("a size from " + new Size(min) + " to " + new Size(max) + ", such as 64KiB or 4MiB");
        return size;
    }

    private static <T> T orDefault(T value, T fallback)
    {
        return value == null ? fallback : value;
    }
}
