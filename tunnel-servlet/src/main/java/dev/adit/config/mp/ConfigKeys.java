package dev.adit.config.mp;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every key Adit reads. Keep this list and the README's table in step (a test checks).
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
    public static final ConfigKey SERVER_IDLE_TIMEOUT = key("adit.server.idle-timeout", "duration", "30s", "An HTTP connection with no request and no tunnel is closed after this.");
    public static final ConfigKey TUNNEL_CONNECT_TIMEOUT = key("adit.tunnel.connect-timeout", "duration", "10s", "Longest wait for DNS plus the TCP connect to a target; then 504.");
    public static final ConfigKey TUNNEL_IDLE_TIMEOUT = key("adit.tunnel.idle-timeout", "duration", "1h", "A tunnel with no bytes in either direction for this long is reset; 0 disables.");
    public static final ConfigKey TUNNEL_MAX_DURATION = key("adit.tunnel.max-duration", "duration", "0", "A tunnel is reset after this long whatever it does; 0 disables.");
    public static final ConfigKey TUNNEL_BUFFER_SIZE = key("adit.tunnel.buffer-size", "size", "64KiB", "Pooled buffer per direction while bytes are in flight (1KiB to 16MiB).");
    public static final ConfigKey H2_MAX_CONCURRENT_STREAMS = key("adit.h2.max-concurrent-streams", "integer", "1024", "SETTINGS_MAX_CONCURRENT_STREAMS: tunnels one HTTP/2 connection may carry.");
    public static final ConfigKey H2_INITIAL_STREAM_WINDOW = key("adit.h2.initial-stream-window", "size", "8MiB", "HTTP/2 receive window per stream (64KiB - 1 to 2GiB - 1).");
    public static final ConfigKey H2_INITIAL_SESSION_WINDOW = key("adit.h2.initial-session-window", "size", "32MiB", "HTTP/2 receive window per connection; at least the stream window.");
    public static final ConfigKey H2_STREAM_IDLE_TIMEOUT = key("adit.h2.stream-idle-timeout", "duration", "1h", "Idle timeout of HTTP/2 streams before they become tunnels (Jetty would otherwise use the connector's 30 s).");
    public static final ConfigKey POLICY_ALLOW = key("adit.policy.allow", "list of rules", "*", "Destinations tunnels may reach: HOST[:PORTS] rules, by name or resolved address.");
    public static final ConfigKey POLICY_DENY = key("adit.policy.deny", "list of rules", "", "Destinations refused, checked against the name and every resolved address; wins over allow.");
    public static final ConfigKey POLICY_ALLOW_OPEN_PROXY = key("adit.policy.allow-open-proxy", "boolean", "false", "Consent to listen on a non-loopback address while allowing every destination without authentication.");

    public static final List<ConfigKey> ALL = List.of(
        HTTP_ENABLED, HTTP_HOST, HTTP_PORT, HTTPS_ENABLED, HTTPS_HOST, HTTPS_PORT, TLS_CERT_CHAIN, TLS_PRIVATE_KEY,
        SERVER_IDLE_TIMEOUT, TUNNEL_CONNECT_TIMEOUT, TUNNEL_IDLE_TIMEOUT, TUNNEL_MAX_DURATION, TUNNEL_BUFFER_SIZE,
        H2_MAX_CONCURRENT_STREAMS, H2_INITIAL_STREAM_WINDOW, H2_INITIAL_SESSION_WINDOW, H2_STREAM_IDLE_TIMEOUT,
        POLICY_ALLOW, POLICY_DENY, POLICY_ALLOW_OPEN_PROXY);

    static final Map<String, ConfigKey> BY_NAME = ALL.stream().collect(Collectors.toUnmodifiableMap(ConfigKey::name, Function.identity()));
    static final Map<String, ConfigKey> BY_ENVIRONMENT_NAME = ALL.stream().collect(Collectors.toUnmodifiableMap(ConfigKey::environmentName, Function.identity()));

    private ConfigKeys()
    {
    }

    private static ConfigKey key(String name, String type, String defaultValue, String meaning)
    {
        return new ConfigKey(name, type, defaultValue, meaning);
    }
}
