package dev.adit.handler;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import dev.adit.testing.TrustAll;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Mutual TLS on the TLS listener ({@code adit.tls.client-auth}, {@code client-ca},
 * {@code protocols}), with the SVIDs of {@code gen-certs.sh --spiffe}: HTTP/1.1 over TLS and h2
 * (ALPN) carry tunnels for a trusted client certificate, and the handshake refuses an
 * untrusted one before any request is read.
 */
class MutualTlsTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final Transport[] TLS = {Transport.HTTP1_TLS, Transport.H2};

    private AditFixture adit;
    private TcpTarget target;

    @BeforeEach
    void startTarget() throws Exception
    {
        target = new TcpTarget(TcpTarget.echo());
    }

    @AfterEach
    void stop() throws Exception
    {
        if (adit != null)
        {
            adit.assertQuiescentWithoutLeaks();
            adit.close();
        }
        target.close();
    }

    /** The SPIFFE PKI's server certificate, and client certificates from its CA. */
    static Map<String, String> mutualTls(String clientAuth)
    {
        Path pki = TestCertificates.spiffeDir();
        Map<String, String> p = new HashMap<>();
        p.put("adit.tls.cert-chain", pki.resolve("server.pem").toString());
        p.put("adit.tls.private-key", pki.resolve("server.key").toString());
        p.put("adit.tls.client-auth", clientAuth);
        p.put("adit.tls.client-ca", pki.resolve("ca.pem").toString());
        return p;
    }

    /** The SVID {@value TestCertificates#SPIFFE_CLIENT}, trusted by {@link #mutualTls}. */
    static SSLContext spiffeClient()
    {
        Path pki = TestCertificates.spiffeDir();
        return TrustAll.withClientCertificate(pki.resolve("client.pem"), pki.resolve("client.key"));
    }

    /** A client certificate of the default dev PKI, whose CA {@link #mutualTls} does not trust. */
    static SSLContext otherCaClient()
    {
        return TrustAll.withClientCertificate(TestCertificates.clientChain(), TestCertificates.clientKey());
    }

    /** Opens a tunnel and checks that a random megabyte comes back byte for byte. */
    static void assertEchoes(TunnelClient client, TcpTarget target) throws Exception
    {
        try (Tunnel tunnel = client.open(target.authority(), TIMEOUT))
        {
            assertThat(tunnel.status()).as("%s", client.transport()).isEqualTo(200);
            byte[] payload = Payloads.random(1024 * 1024);
            tunnel.write(payload);
            tunnel.shutdownOutput();
            Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
            assertThat(echoed.count()).isEqualTo(payload.length);
            assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"need", "want"})
    void aTrustedClientCertificateCarriesTunnelsOverHttp1AndH2(String clientAuth) throws Exception
    {
        adit = AditFixture.start(mutualTls(clientAuth));
        for (Transport transport : TLS)
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), spiffeClient()))
            {
                assertEchoes(client, target);
            }
        }
        assertThat(adit.events.awaitClosed(2, TIMEOUT)).hasSize(2);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"need", "want"})
    void aClientCertificateFromAnotherCaFailsTheHandshake(String clientAuth) throws Exception
    {
        adit = AditFixture.start(mutualTls(clientAuth));
        for (Transport transport : TLS)
            assertRefusedByTheHandshake(transport, otherCaClient());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void withNeedNoClientCertificateFailsTheHandshake(Transport transport) throws Exception
    {
        adit = AditFixture.start(mutualTls("need"));
        assertRefusedByTheHandshake(transport, TrustAll.sslContext());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void withWantAClientWithoutCertificateStillConnects(Transport transport) throws Exception
    {
        adit = AditFixture.start(mutualTls("want"));
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), TrustAll.sslContext()))
        {
            assertEchoes(client, target);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void protocolsRestrictTheTlsVersion(String clientVersion) throws Exception
    {
        Map<String, String> p = mutualTls("need");
        p.put("adit.tls.protocols", "TLSv1.3");
        adit = AditFixture.start(p);
        InetSocketAddress address = adit.address(Transport.HTTP1_TLS);
        try (Socket raw = new Socket())
        {
            raw.connect(address, (int)TIMEOUT.toMillis());
            raw.setSoTimeout((int)TIMEOUT.toMillis());
            try (SSLSocket tls = (SSLSocket)spiffeClient().getSocketFactory().createSocket(raw, "localhost", address.getPort(), false))
            {
                tls.setEnabledProtocols(new String[]{clientVersion});
                if (clientVersion.equals("TLSv1.3"))
                {
                    tls.startHandshake();
                    assertThat(tls.getSession().getProtocol()).isEqualTo("TLSv1.3");
                }
                else
                {
                    assertThatThrownBy(tls::startHandshake).isInstanceOf(IOException.class);
                }
            }
        }
    }

    /**
     * Under TLS 1.3 the client's handshake ends before the server has checked its certificate,
     * so the refusal (an alert, or the connection closed) may come at the first read or write:
     * either way an I/O failure, no response, and no tunnel.
     */
    private void assertRefusedByTheHandshake(Transport transport, SSLContext tls)
    {
        assertThatThrownBy(() ->
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), tls);
                 Tunnel tunnel = client.open(target.authority(), TIMEOUT))
            {
                throw new AssertionError("expected no response, got " + tunnel.status());
            }
        }).as("%s", transport).satisfies(x -> assertThat(x instanceof ExecutionException ? x.getCause() : x)
            .as("%s: an I/O failure (alert, reset or close), not a timeout", transport).isInstanceOf(IOException.class));
        assertThat(adit.events.opened()).isZero();
        assertThat(target.accepted()).isZero();
    }
}
