package dev.adit.tls;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLParameters;

import dev.adit.config.TlsClientConfig;
import dev.adit.testing.TestCertificates;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ClientTls} on its own: the SPKI pin agrees with openssl, the factory's engines carry the
 * configured ALPN and host name verification, and bad configurations are refused with the key
 * at fault. Handshakes are covered by {@code dev.adit.upstream.TlsDialTest}.
 */
@Timeout(value = 60, unit = SECONDS)
class ClientTlsTest
{
    @Test
    void theSpkiPinIsWhatOpensslComputes()
    {
        X509Certificate server = PemCredentials.certificates(TestCertificates.serverChain()).get(0);
        String openssl = TestCertificates.run(TestCertificates.dir(), List.of("bash", "-c",
            "openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64")).trim();

        assertThat(ClientTls.spkiPin(server)).isEqualTo(openssl).hasSize(44);
    }

    @Test
    void enginesOfferTheConfiguredAlpnAndVerifyHostNames() throws Exception
    {
        SSLParameters parameters = engineParameters(config(List.of("h2", "http/1.1"), true));

        assertThat(parameters.getApplicationProtocols()).containsExactly("h2", "http/1.1");
        assertThat(parameters.getEndpointIdentificationAlgorithm()).isEqualTo("HTTPS");
    }

    @Test
    void withoutAlpnOrHostNameVerificationEnginesOfferNeither() throws Exception
    {
        SSLParameters parameters = engineParameters(config(List.of(), false));

        assertThat(parameters.getApplicationProtocols()).isEmpty();
        assertThat(parameters.getEndpointIdentificationAlgorithm()).isNull();
    }

    @Test
    void aDisabledConfigurationIsRefused()
    {
        assertThatThrownBy(() -> ClientTls.create(TlsClientConfig.DISABLED))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("tls.enabled: false");
    }

    @Test
    void aCertificateChainWithoutItsKeyIsRefused()
    {
        TlsClientConfig config = new TlsClientConfig(true, Optional.empty(), Optional.of(TestCertificates.clientChain()), Optional.empty(),
            Optional.empty(), List.of(), List.of(), true);

        assertThatThrownBy(() -> ClientTls.create(config))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("tls.certChain and tls.privateKey");
    }

    @Test
    void aPinThatIsNotABase64Sha256IsRefused()
    {
        TlsClientConfig config = new TlsClientConfig(true, Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), List.of(), List.of("not-a-pin"), true);

        assertThatThrownBy(() -> ClientTls.create(config))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("tls.spkiPins: not-a-pin (expected: base64 of a SHA-256 digest, 44 characters)");
    }

    @Test
    void anInvalidSpiffeIdIsRefused()
    {
        TlsClientConfig config = new TlsClientConfig(true, Optional.empty(), Optional.empty(), Optional.empty(),
            Optional.empty(), List.of(), List.of(), false, List.of("spiffe://td/ns/sa-*"));

        assertThatThrownBy(() -> ClientTls.create(config))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("tls.spiffeIds: spiffe://td/ns/sa-* (expected: a SPIFFE ID or pattern; a wildcard must be a whole segment, * or a last **)");
    }

    private static TlsClientConfig config(List<String> alpn, boolean verifyHostname)
    {
        Optional<Path> ca = Optional.of(TestCertificates.caPem());
        return new TlsClientConfig(true, ca, Optional.of(TestCertificates.clientChain()), Optional.of(TestCertificates.clientKey()),
            Optional.empty(), alpn, List.of(), verifyHostname);
    }

    private static SSLParameters engineParameters(TlsClientConfig config) throws Exception
    {
        SslContextFactory.Client factory = ClientTls.create(config);
        factory.start();
        try
        {
            return factory.newSSLEngine("localhost", 443).getSSLParameters();
        }
        finally
        {
            factory.stop();
        }
    }
}
