package dev.adit.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import dev.adit.tls.PemCredentials;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DevCertificateTest {
    @TempDir
    Path tmp;

    @Test
    void createsASelfSignedLocalhostCertificateThatTheJdkParses() throws Exception {
        DevCertificate.Paths paths = DevCertificate.findOrCreate(tmp.resolve("dev"));

        X509Certificate certificate;
        try (InputStream in = Files.newInputStream(paths.certChain())) {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(in);
        }
        certificate.verify(certificate.getPublicKey()); // self-signed
        assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=localhost");
        assertThat(certificate.getPublicKey().getAlgorithm()).isEqualTo("EC");
        assertThat(certificate.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
        assertThat(certificate.getSubjectAlternativeNames())
                .extracting(name -> (Object) name.get(1))
                .containsExactlyInAnyOrder("localhost", "127.0.0.1",
                        InetAddress.getByName("::1").getHostAddress());
        Instant notAfter = certificate.getNotAfter().toInstant();
        assertThat(notAfter).isBetween(Instant.now().plus(Duration.ofDays(364)),
                Instant.now().plus(Duration.ofDays(366)));
        assertThat(Files.readString(paths.privateKey())).startsWith("-----BEGIN PRIVATE KEY-----");
    }

    @Test
    void theKeyMatchesTheCertificateAndIsOwnerReadableOnly() throws Exception {
        DevCertificate.Paths paths = DevCertificate.findOrCreate(tmp);

        KeyStore store = PemCredentials.keyStore(paths.certChain(), paths.privateKey(), new char[0]);

        assertThat(store.isKeyEntry(PemCredentials.KEY_ALIAS)).isTrue();
        if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(paths.privateKey())))
                    .isEqualTo("rw-------");
        }
    }

    @Test
    void aSecondCallReusesTheExistingFiles() throws Exception {
        DevCertificate.Paths first = DevCertificate.findOrCreate(tmp);
        String certificate = Files.readString(first.certChain());
        String key = Files.readString(first.privateKey());

        DevCertificate.Paths second = DevCertificate.findOrCreate(tmp);

        assertThat(second).isEqualTo(first);
        assertThat(Files.readString(second.certChain())).isEqualTo(certificate);
        assertThat(Files.readString(second.privateKey())).isEqualTo(key);
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(List.of("server.pem", "server.key"));
        }
    }

    @Test
    void aLoneLeftoverFileIsReplacedByAMatchingPair() throws Exception {
        Files.writeString(tmp.resolve("server.pem"), "stale");

        DevCertificate.Paths paths = DevCertificate.findOrCreate(tmp);

        assertThat(Files.readString(paths.certChain())).startsWith("-----BEGIN CERTIFICATE-----");
        PemCredentials.keyStore(paths.certChain(), paths.privateKey(), new char[0]);
    }
}
