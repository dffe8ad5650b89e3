package dev.adit.handler;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two Adits in an HBONE-like chain: the front forwards CONNECTs over mutual TLS with its SVID
 * ({@value TestCertificates#SPIFFE_CLIENT}) and accepts the back only by its SPIFFE ID
 * ({@code tls.spiffe-ids}, no host name check); the back requires a client certificate and
 * serves only the front's identity. Over HTTP/1.1 and h2 upstreams.
 */
class SpiffeChainTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private TcpTarget target;
    private AditFixture back;
    private AditFixture front;

    @BeforeEach
    void start() throws Exception
    {
        target = new TcpTarget(TcpTarget.echo());
    }

    @AfterEach
    void stop() throws Exception
    {
        for (AditFixture adit : new AditFixture[]{front, back})
        {
            if (adit != null)
            {
                adit.assertQuiescentWithoutLeaks();
                adit.close();
            }
        }
        target.close();
    }

    private void startBack(String allowed) throws Exception
    {
        Map<String, String> p = MutualTlsTest.mutualTls("need");
        p.put("adit.routes", "mesh");
        p.put("adit.route.mesh.allowed-identities", allowed);
        back = AditFixture.start(p);
    }

    private void startFront(String protocol, String serverIds) throws Exception
    {
        Path pki = TestCertificates.spiffeDir();
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "out");
        p.put("adit.route.out.action", "proxy");
        p.put("adit.route.out.cluster", "mesh");
        p.put("adit.cluster.mesh.endpoints", "127.0.0.1:" + back.address(Transport.H2).getPort());
        p.put("adit.cluster.mesh.protocol", protocol);
        p.put("adit.cluster.mesh.tls.enabled", "true");
        p.put("adit.cluster.mesh.tls.ca", pki.resolve("ca.pem").toString());
        p.put("adit.cluster.mesh.tls.cert-chain", pki.resolve("client.pem").toString());
        p.put("adit.cluster.mesh.tls.private-key", pki.resolve("client.key").toString());
        p.put("adit.cluster.mesh.tls.spiffe-ids", serverIds);
        front = AditFixture.start(p);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"http1", "h2"})
    void bothSidesCheckTheOthersIdentityAndTheBytesGoThrough(String protocol) throws Exception
    {
        startBack("spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/default/sa/*");
        startFront(protocol, TestCertificates.SPIFFE_SERVER);
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, front.address(Transport.H2C)))
        {
            MutualTlsTest.assertEchoes(client, target);
        }
        assertThat(back.events.awaitClosed(1, TIMEOUT)).hasSize(1);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"http1", "h2"})
    void anUpstreamWithAnotherSpiffeIdIs502TlsFailed(String protocol) throws Exception
    {
        startBack(TestCertificates.SPIFFE_CLIENT);
        String expected = "spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/default/sa/other";
        startFront(protocol, expected);
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, front.address(Transport.H2C));
             Tunnel tunnel = client.open(target.authority(), TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(502);
            assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8))
                .contains("tls_failed")
                .contains("SPIFFE ID mismatch")
                .contains("has " + TestCertificates.SPIFFE_SERVER + " (expected one of: " + expected + ")");
        }
        assertThat(back.events.opened()).isZero();
        assertThat(target.accepted()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"http1", "h2"})
    void theBacksIdentityDenialReachesTheClientAsIs(String protocol) throws Exception
    {
        startBack("spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/prod/**");
        startFront(protocol, TestCertificates.SPIFFE_SERVER);
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, front.address(Transport.H2C));
             Tunnel tunnel = client.open(target.authority(), TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(403);
            assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains("identity_denied");
        }
        assertThat(target.accepted()).isZero();
    }
}
