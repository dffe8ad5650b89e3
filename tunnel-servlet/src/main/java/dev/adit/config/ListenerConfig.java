package dev.adit.config;

import java.nio.file.Path;
import java.util.List;
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
 * @param clientAuth   whether a TLS listener asks for client certificates (mutual TLS)
 * @param clientCa     PEM files of the CA certificates client certificates must chain to;
 *                     required unless {@code clientAuth} is {@link ClientAuth#NONE}
 * @param tlsProtocols TLS versions a TLS listener accepts, such as {@code TLSv1.3}; empty for
 *                     the JVM's defaults
 */
public record ListenerConfig(String name, boolean enabled, String host, int port, Optional<Path> certChain, Optional<Path> privateKey, Set<String> upgrades,
                             ClientAuth clientAuth, List<Path> clientCa, List<String> tlsProtocols)
{
    /** The upgrade name of plain CONNECT (and its legacy {@code :protocol=bytestream} form). */
    public static final String CONNECT = "connect";

    /** Whether a TLS listener asks for a client certificate. */
    public enum ClientAuth
    {
        /** No client certificate is asked for. */
        NONE,
        /**
         * One is asked for but optional: a client without one still connects (routes that need
         * an identity answer it 401); one that does not chain to a trusted CA fails the handshake.
         */
        WANT,
        /** The handshake fails without a client certificate that chains to a trusted CA. */
        NEED
    }

    public ListenerConfig(String name, boolean enabled, String host, int port, Optional<Path> certChain, Optional<Path> privateKey)
    {
        this(name, enabled, host, port, certChain, privateKey, Set.of(CONNECT));
    }

    /** A listener without client certificates, on the JVM's TLS versions. */
    public ListenerConfig(String name, boolean enabled, String host, int port, Optional<Path> certChain, Optional<Path> privateKey, Set<String> upgrades)
    {
        this(name, enabled, host, port, certChain, privateKey, upgrades, ClientAuth.NONE, List.of(), List.of());
    }

    public ListenerConfig
    {
        upgrades = Set.copyOf(upgrades);
        clientCa = List.copyOf(clientCa);
        tlsProtocols = List.copyOf(tlsProtocols);
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(certChain, "certChain");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(clientAuth, "clientAuth");
        if (clientAuth != ClientAuth.NONE && clientCa.isEmpty())
            throw new IllegalArgumentException("listener " + name + ": client auth " + clientAuth + " needs the CA certificates to trust (clientCa)");
    }

    /** @return this listener with another certificate chain and key, everything else kept */
    public ListenerConfig withCertificate(Path newCertChain, Path newPrivateKey)
    {
        return new ListenerConfig(name, enabled, host, port, Optional.of(newCertChain), Optional.of(newPrivateKey), upgrades, clientAuth, clientCa, tlsProtocols);
    }

    public boolean isTls()
    {
        return "https".equals(name);
    }
}
