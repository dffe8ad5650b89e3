package dev.adit.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.adit.testing.TestCertificates;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PemCredentialsTest {
    private static final char[] PASSWORD = "changeit".toCharArray();
    private static final int IO_TIMEOUT_MILLIS = 10_000;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "client connecting to {0} verifies the server and presents its own certificate")
    @ValueSource(strings = {"localhost", "127.0.0.1"})
    void generatedCredentialsCompleteAMutualTlsHandshake(String host) throws Exception {
        SSLContext server = sslContext(TestCertificates.serverChain(), TestCertificates.serverKey());
        SSLContext client = sslContext(TestCertificates.clientChain(), TestCertificates.clientKey());
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setNeedClientAuth(true);
            listener.setSoTimeout(IO_TIMEOUT_MILLIS);
            CompletableFuture<String> serverSide = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket accepted = (SSLSocket) listener.accept()) {
                    accepted.setSoTimeout(IO_TIMEOUT_MILLIS);
                    int b = accepted.getInputStream().read();
                    accepted.getOutputStream().write(b);
                    accepted.getOutputStream().flush();
                    return accepted.getSession().getPeerPrincipal().getName();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, executor);

            Socket plain = new Socket();
            plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    listener.getLocalPort()), IO_TIMEOUT_MILLIS);
            plain.setSoTimeout(IO_TIMEOUT_MILLIS);
            try (SSLSocket socket = (SSLSocket) client.getSocketFactory()
                    .createSocket(plain, host, listener.getLocalPort(), true)) {
                SSLParameters parameters = socket.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS"); // checks the SANs
                socket.setSSLParameters(parameters);
                OutputStream out = socket.getOutputStream();
                out.write(42);
                out.flush();
                InputStream in = socket.getInputStream();
                assertThat(in.read()).isEqualTo(42);
                assertThat(socket.getSession().getPeerPrincipal().getName())
                        .isEqualTo("CN=localhost");
            }
            assertThat(serverSide.get(IO_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS))
                    .isEqualTo("CN=adit-client");
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void keyStoreHoldsTheKeyAndTheWholeChain() throws Exception {
        KeyStore store = PemCredentials.keyStore(
                TestCertificates.serverChain(), TestCertificates.serverKey(), PASSWORD);

        assertThat(store.getType()).isEqualToIgnoringCase("PKCS12");
        assertThat(store.isKeyEntry(PemCredentials.KEY_ALIAS)).isTrue();
        assertThat(store.getKey(PemCredentials.KEY_ALIAS, PASSWORD).getAlgorithm()).isEqualTo("EC");
        assertThat(store.getCertificateChain(PemCredentials.KEY_ALIAS)).hasSize(2);
    }

    @Test
    void trustStoreTrustsEveryCertificateInTheFile() throws Exception {
        KeyStore store = PemCredentials.trustStore(TestCertificates.serverChain());

        assertThat(store.size()).isEqualTo(2);
        assertThat(store.isCertificateEntry("ca-0")).isTrue();
        assertThat(store.isCertificateEntry("ca-1")).isTrue();
    }

    @Test
    void certificatesAreReturnedInFileOrder() {
        List<X509Certificate> chain = PemCredentials.certificates(TestCertificates.clientChain());

        assertThat(chain).extracting(c -> c.getSubjectX500Principal().getName())
                .containsExactly("CN=adit-client", "CN=Adit dev CA");
    }

    @ParameterizedTest(name = "a key made by ''{0}'' loads as {2} and matches its certificate")
    @CsvSource(delimiter = '|', value = {
        "openssl genrsa -traditional -out k.pem 2048                           | RSA PRIVATE KEY | RSA",
        "openssl ecparam -genkey -name prime256v1 -out k.pem                   | EC PRIVATE KEY  | EC",
        "openssl ecparam -genkey -name secp384r1 -noout -out k.pem             | EC PRIVATE KEY  | EC",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem | PRIVATE KEY   | RSA",
        "openssl genpkey -algorithm ed25519 -out k.pem                         | PRIVATE KEY     | EdDSA",
    })
    void keysInEveryCommonOpensslFormatLoadAndMatch(String command, String label, String algorithm)
            throws Exception {
        openssl(command);
        openssl("openssl req -new -x509 -key k.pem -subj /CN=test -days 1 -out c.pem");
        assertThat(Files.readString(tmp.resolve("k.pem"))).contains("-----BEGIN " + label + "-----");

        KeyStore store = PemCredentials.keyStore(tmp.resolve("c.pem"), tmp.resolve("k.pem"), PASSWORD);

        assertThat(store.getKey(PemCredentials.KEY_ALIAS, PASSWORD).getAlgorithm()).isEqualTo(algorithm);
    }

    @Test
    void aKeyFromAnotherCertificateIsRejected() {
        assertThatThrownBy(() -> PemCredentials.keyStore(
                TestCertificates.serverChain(), TestCertificates.clientKey(), PASSWORD))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(TestCertificates.clientKey().toString())
                .hasMessageContaining("key does not match certificate CN=localhost");
    }

    @Test
    void aKeyOfAnotherTypeIsRejected() {
        openssl("openssl genrsa -traditional -out k.pem 2048");

        assertThatThrownBy(() -> PemCredentials.keyStore(
                TestCertificates.serverChain(), tmp.resolve("k.pem"), PASSWORD))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key does not match certificate");
    }

    @ParameterizedTest(name = "an encrypted key made by ''{0}'' is rejected")
    @ValueSource(strings = {
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 -pass pass:secret -out k.pem",
        "openssl genrsa -traditional -aes128 -passout pass:secret -out k.pem 2048",
    })
    void encryptedKeysAreRejected(String command) {
        openssl(command);
        Path key = tmp.resolve("k.pem");

        assertThatThrownBy(() -> PemCredentials.privateKey(key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(key.toString())
                .hasMessageContaining("encrypted private keys are not supported yet");
    }

    @Test
    void aFileWithoutCertificatesIsRejected() {
        Path key = TestCertificates.serverKey();

        assertThatThrownBy(() -> PemCredentials.certificates(key))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(key + ": no CERTIFICATE block");
        assertThatThrownBy(() -> PemCredentials.trustStore(key))
                .hasMessage(key + ": no CERTIFICATE block");
        assertThatThrownBy(() -> PemCredentials.keyStore(key, key, PASSWORD))
                .hasMessage(key + ": no CERTIFICATE block");
    }

    @Test
    void aFileWithoutAKeyIsRejected() {
        Path ca = TestCertificates.caPem();

        assertThatThrownBy(() -> PemCredentials.privateKey(ca))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(ca + ": no private key block");
    }

    @Test
    void aMissingFileIsReportedByName() {
        Path missing = tmp.resolve("missing.pem");

        assertThatThrownBy(() -> PemCredentials.certificates(missing))
                .hasMessageStartingWith(missing + ": cannot read");
    }

    @Test
    void aCombinedFileServesAsBothChainAndKey() throws Exception {
        Path combined = tmp.resolve("combined.pem");
        Files.writeString(combined, Files.readString(TestCertificates.serverKey())
                + Files.readString(TestCertificates.serverChain()));

        KeyStore store = PemCredentials.keyStore(combined, combined, PASSWORD);

        PrivateKey key = (PrivateKey) store.getKey(PemCredentials.KEY_ALIAS, PASSWORD);
        assertThat(key).isEqualTo(PemCredentials.privateKey(TestCertificates.serverKey()));
    }

    private SSLContext sslContext(Path chain, Path key) throws Exception {
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(PemCredentials.keyStore(chain, key, PASSWORD), PASSWORD);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(PemCredentials.trustStore(TestCertificates.caPem()));
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
        return context;
    }

    private void openssl(String command) {
        TestCertificates.run(tmp, List.of(command.trim().split("\\s+")));
    }
}
