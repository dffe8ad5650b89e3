package dev.adit.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

import dev.adit.config.TlsClientConfig;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Builds the Jetty {@link SslContextFactory.Client} with which Adit originates TLS towards a
 * cluster's endpoints, from a {@link TlsClientConfig}.
 *
 * <ul>
 * <li>Trust: the CA certificates of {@code trustedCa}, else the JVM's default trust store.</li>
 * <li>Client certificate (mutual TLS): {@code certChain} and {@code privateKey}, both or neither.</li>
 * <li>Host name verification: {@code setEndpointIdentificationAlgorithm("HTTPS")}, or off. The
 *     name checked is the peer host of the engine, which {@link dev.adit.upstream.TcpUpstream}
 *     sets to the SNI name (or the endpoint's host).</li>
 * <li>SPKI pins: when {@code spkiPins} is not empty, the leaf certificate's SubjectPublicKeyInfo
 *     SHA-256 (base64, see {@link #spkiPin}) must be one of them, in addition to normal trust;
 *     otherwise the handshake fails with "SPKI pin mismatch" and the actual pin.</li>
 * <li>SPIFFE IDs: when {@code spiffeIds} is not empty, the leaf certificate must be an X.509
 *     SVID whose ID one of them matches ({@link SpiffeIdPattern}), in addition to normal trust;
 *     otherwise the handshake fails with "SPIFFE ID mismatch". This is how an HBONE client
 *     authenticates its peer, usually with host name verification off.</li>
 * <li>ALPN: {@code alpn}, in order, offered on every engine when not empty.</li>
 * </ul>
 *
 * <p>PEM files are read here, once: call it while configuring, never on an I/O thread. The
 * returned factory is not started; the caller starts it or adds it as a managed bean. Once
 * started it is thread-safe and may be shared by any number of connections.</p>
 */
public final class ClientTls
{
    private ClientTls()
    {
    }

    /**
     * @throws IllegalArgumentException if TLS is not enabled, only one of certChain and
     *                                  privateKey is set, or a PEM file is invalid
     * @throws java.io.UncheckedIOException if a PEM file cannot be read
     */
    public static SslContextFactory.Client create(TlsClientConfig config)
    {
        Objects.requireNonNull(config, "config");
        if (!config.enabled())
            throw new IllegalArgumentException("tls.enabled: false (expected: true to create a TLS client factory)");
        if (config.certChain().isPresent() != config.privateKey().isPresent())
            throw new IllegalArgumentException("tls.certChain and tls.privateKey: only one is set (expected: both, or neither)");
        for (String pin : config.spkiPins())
            checkPin(pin);
        List<SpiffeIdPattern> spiffeIds = new ArrayList<>();
        for (String id : config.spiffeIds())
            spiffeIds.add(spiffeId(id));

        KeyStore trustStore = config.trustedCa().map(PemCredentials::trustStore).orElse(null);
        KeyManager[] keyManagers = null;
        if (config.certChain().isPresent())
        {
            char[] password = randomPassword();
            KeyStore keyStore = PemCredentials.keyStore(config.certChain().get(), config.privateKey().get(), password);
            keyManagers = keyManagers(keyStore, password);
        }
        TrustManager[] trustManagers = trustManagers(trustStore, config.spkiPins(), spiffeIds);

        Client factory = new Client(config.alpn());
        factory.setSslContext(sslContext(keyManagers, trustManagers));
        factory.setEndpointIdentificationAlgorithm(config.verifyHostname() ? "HTTPS" : null);
        return factory;
    }

    /**
     * The SPKI pin of a certificate: base64 (standard alphabet, padded) of the SHA-256 of its
     * DER SubjectPublicKeyInfo, as computed by
     * {@code openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64}.
     */
    public static String spkiPin(X509Certificate certificate)
    {
        // An X.509 public key's encoded form is its SubjectPublicKeyInfo.
        byte[] spki = certificate.getPublicKey().getEncoded();
        try
        {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(spki));
        }
        catch (NoSuchAlgorithmException x)
        {
            throw new IllegalStateException("SHA-256 missing", x);
        }
    }

    private static void checkPin(String pin)
    {
        byte[] digest;
        try
        {
            digest = Base64.getDecoder().decode(pin);
        }
        catch (IllegalArgumentException x)
        {
            digest = null;
        }
        if (digest == null || digest.length != 32)
            throw new IllegalArgumentException("tls.spkiPins: " + pin + " (expected: base64 of a SHA-256 digest, 44 characters)");
    }

    private static SpiffeIdPattern spiffeId(String id)
    {
        try
        {
            return SpiffeIdPattern.parse(id);
        }
        catch (IllegalArgumentException x)
        {
            throw new IllegalArgumentException("tls.spiffeIds: " + id + " (expected: a SPIFFE ID or pattern; " + x.getMessage() + ")", x);
        }
    }

    private static char[] randomPassword()
    {
        // The key store only lives in memory, between PemCredentials and the key manager.
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        return Base64.getEncoder().encodeToString(random).toCharArray();
    }

    private static KeyManager[] keyManagers(KeyStore keyStore, char[] password)
    {
        try
        {
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(keyStore, password);
            return factory.getKeyManagers();
        }
        catch (GeneralSecurityException x)
        {
            throw new IllegalArgumentException("tls.certChain: cannot use the client key (" + x + ")", x);
        }
    }

    /** @param trustStore the CAs, or null for the JVM's default trust */
    private static TrustManager[] trustManagers(KeyStore trustStore, List<String> pins, List<SpiffeIdPattern> spiffeIds)
    {
        TrustManager[] managers;
        try
        {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trustStore);
            managers = factory.getTrustManagers();
        }
        catch (GeneralSecurityException x)
        {
            throw new IllegalArgumentException("tls.trustedCa: cannot build a trust manager (" + x + ")", x);
        }
        if (pins.isEmpty() && spiffeIds.isEmpty())
            return managers;
        for (int i = 0; i < managers.length; i++)
        {
            if (managers[i] instanceof X509ExtendedTrustManager manager)
            {
                if (!pins.isEmpty())
                    manager = new SpkiPinningTrustManager(manager, pins);
                if (!spiffeIds.isEmpty())
                    manager = new SpiffeIdTrustManager(manager, spiffeIds);
                managers[i] = manager;
            }
            else if (managers[i] instanceof X509TrustManager)
            {
                throw new IllegalStateException("tls.spkiPins, tls.spiffeIds: the trust manager " + managers[i]
                    + " cannot be extended (expected: an X509ExtendedTrustManager)");
            }
        }
        return managers;
    }

    private static SSLContext sslContext(KeyManager[] keyManagers, TrustManager[] trustManagers)
    {
        try
        {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, trustManagers, null);
            return context;
        }
        catch (GeneralSecurityException x)
        {
            throw new IllegalStateException("cannot initialise a TLS context", x);
        }
    }

    /** Offers the configured ALPN protocols on every engine it creates. */
    private static final class Client extends SslContextFactory.Client
    {
        private final String[] alpn;

        private Client(List<String> alpn)
        {
            this.alpn = alpn.toArray(String[]::new);
        }

        @Override
        public void customize(SSLEngine sslEngine)
        {
            super.customize(sslEngine);
            if (alpn.length > 0)
            {
                SSLParameters parameters = sslEngine.getSSLParameters();
                parameters.setApplicationProtocols(alpn);
                sslEngine.setSSLParameters(parameters);
            }
        }
    }
}
