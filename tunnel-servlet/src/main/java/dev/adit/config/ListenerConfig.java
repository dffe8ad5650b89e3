package dev.adit.config;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * One listening socket. A plain listener speaks HTTP/1.1 and h2c (prior knowledge and
 * {@code Upgrade: h2c}); a TLS listener negotiates h2 or http/1.1 with ALPN.
 *
 * @param name         {@code http} or {@code https}, used in messages and logs
 * @param enabled      whether the listener is opened
 * @param host         address to bind, a literal or a name
 * @param port         port to bind, 0 for any free port
 * @param certChain    PEM certificate chain (TLS only); empty means a development certificate
 * @param privateKey   PEM private key matching the chain (TLS only)
 * @param upgrades     upgrades enabled on this listener unless a route overrides it:
 *                     {@value #CONNECT} and extended CONNECT {@code :protocol} tokens, lower case
 */
public record ListenerConfig(String name, boolean enabled, String host, int port, Optional<Path> certChain, Optional<Path> privateKey, Set<String> upgrades)
{
    /** The upgrade name of plain CONNECT (and its legacy {@code :protocol=bytestream} form). */
    public static final String CONNECT = "connect";

    public ListenerConfig(String name, boolean enabled, String host, int port, Optional<Path> certChain, Optional<Path> privateKey)
    {
        this(name, enabled, host, port, certChain, privateKey, Set.of(CONNECT));
    }

    public ListenerConfig
    {
        upgrades = Set.copyOf(upgrades);
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(certChain, "certChain");
        Objects.requireNonNull(privateKey, "privateKey");
    }

    public boolean isTls()
    {
        return "https".equals(name);
    }
}
