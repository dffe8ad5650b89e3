package dev.adit.testing;

import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import dev.adit.tls.PemCredentials;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * TLS client settings that trust every certificate and skip host name checks: the proxies
 * under test use throw-away development certificates. Never use outside tests.
 */
public final class TrustAll {
    private TrustAll() {
    }

    /** A JDK {@link SSLContext} with a trust-everything manager (no endpoint identification). */
    public static SSLContext sslContext() {
        return sslContext(null);
    }

    /**
     * As {@link #sslContext()}, presenting the client certificate {@code certChain} (PEM, leaf
     * first) with {@code privateKey} when the server asks for one: mutual TLS tests.
     */
    public static SSLContext withClientCertificate(Path certChain, Path privateKey) {
        char[] password = "test".toCharArray();
        try {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(PemCredentials.keyStore(certChain, privateKey, password), password);
            return sslContext(keys.getKeyManagers());
        } catch (GeneralSecurityException x) {
            throw new IllegalStateException(x);
        }
    }

    private static SSLContext sslContext(KeyManager[] keyManagers) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, new TrustManager[] {new Manager()}, null);
            return context;
        } catch (GeneralSecurityException x) {
            throw new IllegalStateException(x);
        }
    }

    /** A Jetty client factory that trusts all and does no endpoint identification; not started. */
    public static SslContextFactory.Client jettyClient() {
        SslContextFactory.Client factory = new SslContextFactory.Client(true);
        factory.setEndpointIdentificationAlgorithm(null);
        return factory;
    }

    private static final class Manager extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
