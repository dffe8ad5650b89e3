package dev.adit.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS that Adit originates towards a cluster's endpoints.
 *
 * @param enabled        whether connections to the endpoints use TLS
 * @param trustedCa      PEM file of the CA certificates that may sign the endpoint's certificate;
 *                       empty means the JVM's default trust store
 * @param certChain      PEM client certificate chain for mutual TLS, leaf first; empty for none
 * @param privateKey     PEM private key of the client certificate
 * @param sni            server name to send; empty means the endpoint's host when it is a name
 * @param alpn           protocols offered with ALPN, in order of preference; empty offers none
 * @param spkiPins       base64 SHA-256 digests of the SubjectPublicKeyInfo the endpoint's leaf
 *                       certificate must have (one of them); empty pins nothing
 * @param verifyHostname whether the certificate must match the SNI name (or the endpoint host)
 * @param spiffeIds      SPIFFE IDs and patterns ({@code dev.adit.tls.SpiffeIdPattern}) one of
 *                       which the endpoint's leaf certificate must carry; empty checks none
 */
public record TlsClientConfig(boolean enabled, Optional<Path> trustedCa, Optional<Path> certChain, Optional<Path> privateKey,
                              Optional<String> sni, List<String> alpn, List<String> spkiPins, boolean verifyHostname, List<String> spiffeIds)
{
    public static final TlsClientConfig DISABLED = new TlsClientConfig(false, Optional.empty(), Optional.empty(), Optional.empty(),
        Optional.empty(), List.of(), List.of(), true);

    /** Without a SPIFFE ID check. */
    public TlsClientConfig(boolean enabled, Optional<Path> trustedCa, Optional<Path> certChain, Optional<Path> privateKey,
                           Optional<String> sni, List<String> alpn, List<String> spkiPins, boolean verifyHostname)
    {
        this(enabled, trustedCa, certChain, privateKey, sni, alpn, spkiPins, verifyHostname, List.of());
    }

    public TlsClientConfig
    {
        Objects.requireNonNull(trustedCa, "trustedCa");
        Objects.requireNonNull(certChain, "certChain");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(sni, "sni");
        alpn = List.copyOf(alpn);
        spkiPins = List.copyOf(spkiPins);
        spiffeIds = List.copyOf(spiffeIds);
    }
}
