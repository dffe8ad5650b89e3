package dev.adit.config.mp;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Every key Adit reads. Keep this list and the README's table in step (a test checks). Keys
 * with {@code <route>}, {@code <cluster>}, {@code <encap>} or {@code <header>} are templates.
 */
public final class ConfigKeys
{
    public static final ConfigKey HTTP_ENABLED = key("adit.http.enabled", "boolean", "true", "Open the plain listener (HTTP/1.1 and h2c).");
    public static final ConfigKey HTTP_HOST = key("adit.http.host", "host", "127.0.0.1", "Address the plain listener binds.");
    public static final ConfigKey HTTP_PORT = key("adit.http.port", "port", "8080", "Port of the plain listener; 0 picks a free port.");
    public static final ConfigKey HTTPS_ENABLED = key("adit.https.enabled", "boolean", "true", "Open the TLS listener (ALPN h2 and http/1.1).");
    public static final ConfigKey HTTPS_HOST = key("adit.https.host", "host", "127.0.0.1", "Address the TLS listener binds.");
    public static final ConfigKey HTTPS_PORT = key("adit.https.port", "port", "8443", "Port of the TLS listener; 0 picks a free port.");
    public static final ConfigKey TLS_CERT_CHAIN = key("adit.tls.cert-chain", "path", "", "PEM certificate chain of the TLS listener (leaf first). Unset: a development certificate is found or made.");
    public static final ConfigKey TLS_PRIVATE_KEY = key("adit.tls.private-key", "path", "", "PEM private key (PKCS#8, PKCS#1 or SEC1, unencrypted) matching adit.tls.cert-chain.");
    public static final ConfigKey TLS_CLIENT_AUTH = key("adit.tls.client-auth", "none, want or need", "none", "Client certificates on the TLS listener (mutual TLS): `want` asks for one, `need` also fails the handshake without one; either way a certificate must chain to `adit.tls.client-ca`.");
    public static final ConfigKey TLS_CLIENT_CA = key("adit.tls.client-ca", "list of paths", "", "PEM files of the CA certificates client certificates must chain to; required when `adit.tls.client-auth` is not `none`.");
    public static final ConfigKey TLS_PROTOCOLS = key("adit.tls.protocols", "list of TLS versions", "", "TLS versions the TLS listener accepts, `TLSv1.2` and/or `TLSv1.3` (Istio's HBONE uses TLSv1.3 only); unset: the JVM's.");
    public static final ConfigKey SERVER_IDLE_TIMEOUT = key("adit.server.idle-timeout", "duration", "30s", "An HTTP connection with no request and no tunnel is closed after this.");
    public static final ConfigKey TUNNEL_CONNECT_TIMEOUT = key("adit.tunnel.connect-timeout", "duration", "10s", "Longest wait for DNS plus the TCP connect to a target; then 504.");
    public static final ConfigKey TUNNEL_IDLE_TIMEOUT = key("adit.tunnel.idle-timeout", "duration", "1h", "A tunnel with no bytes in either direction for this long is reset; 0 disables.");
    public static final ConfigKey TUNNEL_MAX_DURATION = key("adit.tunnel.max-duration", "duration", "0", "A tunnel is reset after this long whatever it does; 0 disables.");
    public static final ConfigKey TUNNEL_BUFFER_SIZE = key("adit.tunnel.buffer-size", "size", "64KiB", "Pooled buffer per direction while bytes are in flight (1KiB to 16MiB).");
    public static final ConfigKey H2_MAX_CONCURRENT_STREAMS = key("adit.h2.max-concurrent-streams", "integer", "1024", "SETTINGS_MAX_CONCURRENT_STREAMS: tunnels one HTTP/2 connection may carry.");
    public static final ConfigKey H2_INITIAL_STREAM_WINDOW = key("adit.h2.initial-stream-window", "size", "8MiB", "HTTP/2 receive window per stream (64KiB - 1 to 2GiB - 1).");
    public static final ConfigKey H2_INITIAL_SESSION_WINDOW = key("adit.h2.initial-session-window", "size", "32MiB", "HTTP/2 receive window per connection; at least the stream window.");
    public static final ConfigKey H2_MAX_FRAME_SIZE = key("adit.h2.max-frame-size", "size", "64KiB", "SETTINGS_MAX_FRAME_SIZE Adit advertises on its HTTP/2 listeners and upstream connections: the largest DATA frame a peer may send it (16KiB to 16MiB - 1).");
    public static final ConfigKey H2_STREAM_IDLE_TIMEOUT = key("adit.h2.stream-idle-timeout", "duration", "1h", "Idle timeout of HTTP/2 streams before they become tunnels (Jetty would otherwise use the connector's 30 s).");
    public static final ConfigKey POLICY_ALLOW = key("adit.policy.allow", "list of rules", "*", "Destinations tunnels may reach: HOST[:PORTS] rules, by name or resolved address.");
    public static final ConfigKey POLICY_DENY = key("adit.policy.deny", "list of rules", "", "Destinations refused, checked against the name and every resolved address; wins over allow.");
    public static final ConfigKey POLICY_ALLOW_OPEN_PROXY = key("adit.policy.allow-open-proxy", "boolean", "false", "Consent to listen on a non-loopback address while allowing every destination without authentication.");
    public static final ConfigKey ACCESS_LOG_ENABLED = key("adit.access-log.enabled", "boolean", "true", "Write one JSON line per tunnel, established or refused (standalone, also per request Jetty refused), in Envoy's field names, to the SLF4J logger `adit.access` at INFO (see Access log).");

    public static final ConfigKey HTTP_UPGRADES = key("adit.http.upgrades", "list of upgrades", "CONNECT", "Upgrades the plain listener accepts unless a route says otherwise: `CONNECT` (plain CONNECT and `:protocol=bytestream`) and extended CONNECT `:protocol` tokens such as `websocket`; `none` for none.");
    public static final ConfigKey HTTPS_UPGRADES = key("adit.https.upgrades", "list of upgrades", "CONNECT", "Upgrades the TLS listener accepts unless a route says otherwise, as for `adit.http.upgrades`.");

    public static final ConfigKey ROUTES = key("adit.routes", "list of names", "", "Route names, tried in this order; the first that matches decides. Unset: one route, `default`, terminating every plain CONNECT to its own target (cluster `original-dst`).");
    public static final ConfigKey ROUTE_ACTION = key("adit.route.<route>.action", "terminate, proxy or deny", "terminate", "`terminate`: answer 200 and carry the bytes to the cluster over TCP; `proxy`: forward the CONNECT to the cluster and relay its answer; `deny`: answer `deny-status`.");
    public static final ConfigKey ROUTE_CLUSTER = key("adit.route.<route>.cluster", "name", "original-dst", "The cluster a terminate or proxy route sends tunnels to; `original-dst` is built in: the CONNECT target itself.");
    public static final ConfigKey ROUTE_DENY_STATUS = key("adit.route.<route>.deny-status", "status", "403", "The status a deny route answers (400 to 599).");
    public static final ConfigKey ROUTE_UPGRADE_ENABLED = key("adit.route.<route>.upgrade-enabled", "boolean", "", "Enables (`true`) or disables (`false`) the upgrade for requests this route matches, whatever the listener says (Envoy's route `upgrade_configs`); unset: the listener's `upgrades` decide.");
    public static final ConfigKey ROUTE_ALLOW_POST = key("adit.route.<route>.allow-post", "boolean", "false", "The route also takes POST requests (matched by `match.path-prefix` and headers): the request body is the stream to the target, the response body the stream back (Envoy's `allow_post`). Terminate routes only.");
    public static final ConfigKey ROUTE_PROXY_PROTOCOL = key("adit.route.<route>.proxy-protocol", "none, v1 or v2", "", "PROXY protocol header written to the target before the first byte (terminate routes); unset: the cluster's.");
    public static final ConfigKey ROUTE_HEADERS_TO_ADD = key("adit.route.<route>.request-headers-to-add", "list of `name: value`", "", "Headers set on a forwarded CONNECT (proxy routes), replacing any of the same name.");
    public static final ConfigKey ROUTE_HEADERS_TO_REMOVE = key("adit.route.<route>.request-headers-to-remove", "list of names", "", "Headers removed from a forwarded CONNECT (proxy routes).");
    public static final ConfigKey ROUTE_ALLOWED_IDENTITIES = key("adit.route.<route>.allowed-identities", "list of SPIFFE IDs", "", "Only clients whose TLS certificate carries one of these SPIFFE IDs may use the route: exact IDs, `*` for one path segment (`spiffe://td/ns/prod/sa/*`), a last `**` for the rest (`spiffe://td/**`). No certificate or no SPIFFE ID: 401; another ID: 403. Unset: every client.");
    public static final ConfigKey ROUTE_MATCH_CONNECT = key("adit.route.<route>.match.connect", "plain, extended or any", "plain", "Which CONNECT requests match: `plain` (RFC 9110/9113, and `:protocol=bytestream`), `extended` (RFC 8441 with another `:protocol`), or `any`.");
    public static final ConfigKey ROUTE_MATCH_PROTOCOLS = key("adit.route.<route>.match.protocols", "list of tokens", "", "Extended CONNECT `:protocol` values that match; unset: any.");
    public static final ConfigKey ROUTE_MATCH_AUTHORITY = key("adit.route.<route>.match.authority", "list of patterns", "", "CONNECT targets that match, as written by the client (no DNS): `host[:ports]`, `*.example.com:443`, `[::1]:8080`, `10.0.0.0/8`; unset: any.");
    public static final ConfigKey ROUTE_MATCH_PATH_PREFIX = key("adit.route.<route>.match.path-prefix", "string", "", "For extended CONNECT and POST tunnels: the path must start with this.");
    public static final ConfigKey ROUTE_MATCH_HEADER_EXACT = key("adit.route.<route>.match.header.<header>.exact", "string", "", "The request header must have exactly this value.");
    public static final ConfigKey ROUTE_MATCH_HEADER_PREFIX = key("adit.route.<route>.match.header.<header>.prefix", "string", "", "The request header's value must start with this.");
    public static final ConfigKey ROUTE_MATCH_HEADER_REGEX = key("adit.route.<route>.match.header.<header>.regex", "regex", "", "The request header's whole value must match this Java regular expression.");
    public static final ConfigKey ROUTE_MATCH_HEADER_PRESENT = key("adit.route.<route>.match.header.<header>.present", "boolean", "", "`true`: the request header must be sent; `false`: it must be absent.");

    public static final ConfigKey CLUSTER_TYPE = key("adit.cluster.<cluster>.type", "static or original-dst", "static", "`static`: the configured endpoints, round-robin; `original-dst`: the CONNECT target itself, checked by `adit.policy.*` on every resolved address.");
    public static final ConfigKey CLUSTER_ENDPOINTS = key("adit.cluster.<cluster>.endpoints", "list of host:port", "", "Endpoints of a static cluster (`10.0.0.5:443`, `backend.internal:8443`, `[::1]:9000`); names are resolved without blocking at each connect.");
    public static final ConfigKey CLUSTER_CONNECT_TIMEOUT = key("adit.cluster.<cluster>.connect-timeout", "duration", "", "Longest wait for DNS, TCP and TLS to an endpoint (and its answer to a forwarded CONNECT); unset: `adit.tunnel.connect-timeout`.");
    public static final ConfigKey CLUSTER_PROTOCOL = key("adit.cluster.<cluster>.protocol", "http1 or h2", "http1", "How proxy routes forward CONNECT to this cluster: `http1` (one connection per tunnel) or `h2` (streams over pooled connections; h2 with TLS, h2c without).");
    public static final ConfigKey CLUSTER_MAX_STREAMS = key("adit.cluster.<cluster>.max-streams-per-connection", "integer", "100", "HTTP/2: tunnels per pooled connection (the peer's SETTINGS_MAX_CONCURRENT_STREAMS also bounds it); a new connection opens when all are full.");
    public static final ConfigKey CLUSTER_POOL_IDLE_TIMEOUT = key("adit.cluster.<cluster>.pool-idle-timeout", "duration", "5m", "HTTP/2: a pooled connection carrying no tunnel for this long is closed.");
    public static final ConfigKey CLUSTER_MIN_CONNECTIONS = key("adit.cluster.<cluster>.min-connections", "integer", "0", "HTTP/2 (static h2 clusters only): connections kept open to each endpoint, opened at start before any tunnel (pre-warmed), replaced when lost (after 100 ms doubling to 10 s while attempts fail) and never closed by `pool-idle-timeout` below this; 0 to 100.");
    public static final ConfigKey CLUSTER_PING_INTERVAL = key("adit.cluster.<cluster>.ping-interval", "duration", "10s", "HTTP/2: each pooled connection sends a PING this long after the previous one was answered; 0 disables. PINGs keep neither an idle connection nor a quiet tunnel open.");
    public static final ConfigKey CLUSTER_PING_TIMEOUT = key("adit.cluster.<cluster>.ping-timeout", "duration", "20s", "HTTP/2: a PING unanswered this long marks its connection dead: it is closed at once, its tunnels are reset, and it is replaced if `min-connections` needs it. Above zero unless `ping-interval` is 0.");
    public static final ConfigKey CLUSTER_PROXY_PROTOCOL = key("adit.cluster.<cluster>.proxy-protocol", "none, v1 or v2", "none", "PROXY protocol header written to the endpoint before the first byte by terminate routes (the client's address and the address it connected to).");
    public static final ConfigKey CLUSTER_TLS_ENABLED = key("adit.cluster.<cluster>.tls.enabled", "boolean", "false", "Connect to the endpoints with TLS.");
    public static final ConfigKey CLUSTER_TLS_CA = key("adit.cluster.<cluster>.tls.ca", "path", "", "PEM file of the CA certificates trusted for the endpoints; unset: the JVM's trust store.");
    public static final ConfigKey CLUSTER_TLS_CERT_CHAIN = key("adit.cluster.<cluster>.tls.cert-chain", "path", "", "PEM client certificate chain for mutual TLS (leaf first).");
    public static final ConfigKey CLUSTER_TLS_PRIVATE_KEY = key("adit.cluster.<cluster>.tls.private-key", "path", "", "PEM private key of the client certificate.");
    public static final ConfigKey CLUSTER_TLS_SNI = key("adit.cluster.<cluster>.tls.sni", "host name", "", "Server name sent with SNI and checked against the certificate; unset: the endpoint's host when it is a name.");
    public static final ConfigKey CLUSTER_TLS_ALPN = key("adit.cluster.<cluster>.tls.alpn", "list of protocols", "", "ALPN protocols offered (terminate routes); h2 clusters always offer `h2`.");
    public static final ConfigKey CLUSTER_TLS_SPKI_PINS = key("adit.cluster.<cluster>.tls.spki-pins", "list of base64", "", "SHA-256 digests of the endpoint certificate's public key (SubjectPublicKeyInfo), base64; the certificate must match one, in addition to being trusted.");
    public static final ConfigKey CLUSTER_TLS_VERIFY_HOSTNAME = key("adit.cluster.<cluster>.tls.verify-hostname", "boolean", "true", "Check that the endpoint's certificate names the SNI name (or the endpoint's host or address); unset with `tls.spiffe-ids`: `false`.");
    public static final ConfigKey CLUSTER_TLS_SPIFFE_IDS = key("adit.cluster.<cluster>.tls.spiffe-ids", "list of SPIFFE IDs", "", "The endpoint's certificate must carry one of these SPIFFE IDs (patterns as in `allowed-identities`), in addition to being trusted: HBONE clients check the peer's identity rather than a host name.");

    public static final ConfigKey ENCAPS = key("adit.encaps", "list of names", "", "Encapsulating listeners: each accepts plain TCP and carries every connection through a tunnel to a cluster (Envoy's `tcp_proxy` with `tunneling_config`).");
    public static final ConfigKey ENCAP_HOST = key("adit.encap.<encap>.host", "host", "127.0.0.1", "Address the encapsulating listener binds.");
    public static final ConfigKey ENCAP_PORT = key("adit.encap.<encap>.port", "port", "", "Port of the encapsulating listener; 0 picks a free port. Required.");
    public static final ConfigKey ENCAP_CLUSTER = key("adit.encap.<encap>.cluster", "name", "", "The static cluster tunnels go to: its `protocol` (`h2` pooled, `http1` one connection each) and `tls.*` say how. Required.");
    public static final ConfigKey ENCAP_HOSTNAME = key("adit.encap.<encap>.hostname", "template", "", "The CONNECT target (`:authority`), `host:port` with operators `%DOWNSTREAM_LOCAL_ADDRESS%`, `%DOWNSTREAM_LOCAL_PORT%`, `%DOWNSTREAM_REMOTE_ADDRESS%` (and `_WITHOUT_PORT`, `%DOWNSTREAM_REMOTE_PORT%`). Required.");
    public static final ConfigKey ENCAP_MODE = key("adit.encap.<encap>.mode", "connect or post", "connect", "`connect`: CONNECT requests; `post`: POST to `post-path` with the bytes as request and response bodies (Envoy's `use_post`), over HTTP/2, or over HTTP/1.1 with chunked bodies on http1 clusters.");
    public static final ConfigKey ENCAP_POST_PATH = key("adit.encap.<encap>.post-path", "path", "/", "The path POST tunnels ask for (`:path` over HTTP/2, the request target over HTTP/1.1).");
    public static final ConfigKey ENCAP_HEADER = key("adit.encap.<encap>.header.<header>", "template", "", "A header sent with every tunnel request, its value with the operators of `hostname`, commas and all (e.g. `adit.encap.client.header.baggage=k8s.namespace.name=demo,k8s.cluster.name=east`).");
    public static final ConfigKey ENCAP_FORWARDED = key("adit.encap.<encap>.forwarded", "boolean", "true", "Send `forwarded: for=\"<client ip:port>\"` (RFC 7239) with every tunnel request, as HBONE does.");

    public static final List<ConfigKey> ALL = List.of(
        HTTP_ENABLED, HTTP_HOST, HTTP_PORT, HTTP_UPGRADES, HTTPS_ENABLED, HTTPS_HOST, HTTPS_PORT, HTTPS_UPGRADES, TLS_CERT_CHAIN, TLS_PRIVATE_KEY,
        TLS_CLIENT_AUTH, TLS_CLIENT_CA, TLS_PROTOCOLS,
        SERVER_IDLE_TIMEOUT, TUNNEL_CONNECT_TIMEOUT, TUNNEL_IDLE_TIMEOUT, TUNNEL_MAX_DURATION, TUNNEL_BUFFER_SIZE,
        H2_MAX_CONCURRENT_STREAMS, H2_INITIAL_STREAM_WINDOW, H2_INITIAL_SESSION_WINDOW, H2_MAX_FRAME_SIZE, H2_STREAM_IDLE_TIMEOUT,
        POLICY_ALLOW, POLICY_DENY, POLICY_ALLOW_OPEN_PROXY,
        ACCESS_LOG_ENABLED,
        ROUTES, ROUTE_ACTION, ROUTE_CLUSTER, ROUTE_DENY_STATUS, ROUTE_UPGRADE_ENABLED, ROUTE_ALLOW_POST, ROUTE_PROXY_PROTOCOL,
        ROUTE_HEADERS_TO_ADD, ROUTE_HEADERS_TO_REMOVE, ROUTE_ALLOWED_IDENTITIES, ROUTE_MATCH_CONNECT, ROUTE_MATCH_PROTOCOLS, ROUTE_MATCH_AUTHORITY,
        ROUTE_MATCH_PATH_PREFIX, ROUTE_MATCH_HEADER_EXACT, ROUTE_MATCH_HEADER_PREFIX, ROUTE_MATCH_HEADER_REGEX, ROUTE_MATCH_HEADER_PRESENT,
        CLUSTER_TYPE, CLUSTER_ENDPOINTS, CLUSTER_CONNECT_TIMEOUT, CLUSTER_PROTOCOL, CLUSTER_MAX_STREAMS, CLUSTER_POOL_IDLE_TIMEOUT,
        CLUSTER_MIN_CONNECTIONS, CLUSTER_PING_INTERVAL, CLUSTER_PING_TIMEOUT,
        CLUSTER_PROXY_PROTOCOL, CLUSTER_TLS_ENABLED, CLUSTER_TLS_CA, CLUSTER_TLS_CERT_CHAIN, CLUSTER_TLS_PRIVATE_KEY, CLUSTER_TLS_SNI,
        CLUSTER_TLS_ALPN, CLUSTER_TLS_SPKI_PINS, CLUSTER_TLS_VERIFY_HOSTNAME, CLUSTER_TLS_SPIFFE_IDS,
        ENCAPS, ENCAP_HOST, ENCAP_PORT, ENCAP_CLUSTER, ENCAP_HOSTNAME, ENCAP_MODE, ENCAP_POST_PATH, ENCAP_HEADER, ENCAP_FORWARDED);

    static final Map<String, ConfigKey> BY_NAME = ALL.stream().filter(k -> !k.isTemplate())
        .collect(Collectors.toUnmodifiableMap(ConfigKey::name, Function.identity()));
    static final Map<String, ConfigKey> BY_ENVIRONMENT_NAME = ALL.stream().filter(k -> !k.isTemplate())
        .collect(Collectors.toUnmodifiableMap(ConfigKey::environmentName, Function.identity()));
    static final List<Pattern> TEMPLATES = ALL.stream().filter(ConfigKey::isTemplate).map(ConfigKey::pattern).toList();

    private ConfigKeys()
    {
    }

    private static ConfigKey key(String name, String type, String defaultValue, String meaning)
    {
        return new ConfigKey(name, type, defaultValue, meaning);
    }
}
