package dev.adit.handler;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.adit.testing.Payloads;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import dev.adit.tls.ClientTls;
import dev.adit.tls.PemCredentials;
import dev.adit.upstream.TlsEchoServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/** TLS from Adit to a cluster's endpoints, configured through routes and cluster keys. */
class ClusterTlsTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final int ROUNDS = 5;

    private AditFixture adit;
    private TlsEchoServer server;

    @AfterEach
    void stop() throws Exception
    {
        if (adit != null)
        {
            adit.assertQuiescentWithoutLeaks();
            adit.close();
        }
        if (server != null)
            server.close();
    }

    private Map<String, String> tlsCluster()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "secure");
        p.put("adit.route.secure.cluster", "backend");
        p.put("adit.cluster.backend.endpoints", "127.0.0.1:" + server.port());
        p.put("adit.cluster.backend.tls.enabled", "true");
        p.put("adit.cluster.backend.tls.ca", TestCertificates.caPem().toString());
        p.put("adit.cluster.backend.tls.sni", "localhost");
        p.put("adit.cluster.backend.tls.cert-chain", TestCertificates.clientChain().toString());
        p.put("adit.cluster.backend.tls.private-key", TestCertificates.clientKey().toString());
        p.put("adit.cluster.backend.tls.spki-pins", ClientTls.spkiPin(TlsEchoServer.serverCertificate()));
        return p;
    }

    @Test
    void mutualTlsWithSniAndAPinnedKeyCarriesTheTunnel() throws Exception
    {
        server = new TlsEchoServer(true, null, new String[0], 0, new byte[0]);
        adit = AditFixture.start(tlsCluster());
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, adit.address(Transport.H2C));
             Tunnel tunnel = client.open("anything.test:443", TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(200);
            byte[] payload = Payloads.random(1024 * 1024);
            tunnel.write(payload);
            tunnel.shutdownOutput();
            Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
            assertThat(echoed.count()).isEqualTo(payload.length);
            assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
        }
        TlsEchoServer.Session session = server.session(0).get(10, TimeUnit.SECONDS);
        assertThat(session.serverNames()).containsExactly("localhost");
        assertThat(session.clientCertificate()).isNotNull();
    }

    /**
     * The client half-closes first, so Adit sends close_notify and FIN to the server; only then
     * does the server answer, in many small records, and close. Adit finds whole records and the
     * server's FIN in its socket together: reading that FIN (with Adit's output already shut)
     * closes the socket, and Jetty's {@code SslConnection} used to drop the records it had read
     * but not yet decrypted when it heard of the close, so the tunnel ended cleanly but short.
     * A few tunnels per transport, since whether the close overtakes the next read is a race.
     */
    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void theServersLastRecordsAfterTheClientsHalfCloseAllGetThrough(Transport transport) throws Exception
    {
        server = new TlsEchoServer(true, new String[]{"TLSv1.3"}, new String[0], 0, new byte[0]).echoAfterEnd(100);
        adit = AditFixture.start(tlsCluster());
        for (int i = 0; i < ROUNDS; i++)
        {
            byte[] payload = Payloads.random(64 * 1024);
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport));
                 Tunnel tunnel = client.open("anything.test:443", TIMEOUT))
            {
                assertThat(tunnel.status()).isEqualTo(200);
                tunnel.write(payload);
                tunnel.shutdownOutput();
                Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
                assertThat(server.echoed(i).get(10, TimeUnit.SECONDS)).as("bytes the server wrote back").isEqualTo(payload.length);
                assertThat(echoed.count()).as("round %d: bytes back through the tunnel", i).isEqualTo(payload.length);
                assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
            }
        }
    }

    @Test
    void aPinMismatchIs502TlsFailedBeforeAnyTunnel() throws Exception
    {
        server = TlsEchoServer.plain();
        Map<String, String> p = tlsCluster();
        p.remove("adit.cluster.backend.tls.cert-chain");
        p.remove("adit.cluster.backend.tls.private-key");
        p.put("adit.cluster.backend.tls.spki-pins", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        adit = AditFixture.start(p);
        assertRefused("SPKI pin mismatch");
    }

    @Test
    void anUntrustedCertificateIs502TlsFailed(@TempDir Path dir) throws Exception
    {
        server = TlsEchoServer.plain();
        Map<String, String> p = tlsCluster();
        p.remove("adit.cluster.backend.tls.spki-pins");
        // Trust only the client's leaf certificate (not its CA): the server's chain does not lead to it.
        X509Certificate leaf = PemCredentials.certificates(TestCertificates.clientChain()).get(0);
        String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(leaf.getEncoded())
            + "\n-----END CERTIFICATE-----\n";
        Path untrusted = Files.writeString(dir.resolve("other-ca.pem"), pem);
        p.put("adit.cluster.backend.tls.ca", untrusted.toString());
        adit = AditFixture.start(p);
        assertRefused("tls_failed");
    }

    private void assertRefused(String reason) throws Exception
    {
        for (Transport transport : Transport.values())
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport));
                 Tunnel tunnel = client.open("anything.test:443", TIMEOUT))
            {
                assertThat(tunnel.status()).as("%s", transport).isEqualTo(502);
                assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains("tls_failed").contains(reason);
            }
        }
        assertThat(adit.events.opened()).isZero();
    }
}
