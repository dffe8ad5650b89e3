package dev.adit.handler;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import dev.adit.testing.TrustAll;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Routes with {@code allowed-identities}: the SPIFFE ID of the client's certificate decides,
 * over HTTP/1.1 over TLS and h2, for CONNECT and POST tunnels. The listener trusts both dev
 * CAs, so that a trusted certificate without a SPIFFE ID reaches the route.
 */
class IdentityAuthorizationTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

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

    /** One terminate route to the echo target, for {@code allowed}; client certificates wanted, both CAs trusted. */
    private AditFixture start(String allowed) throws Exception
    {
        Map<String, String> p = MutualTlsTest.mutualTls("want");
        p.put("adit.tls.client-ca", TestCertificates.spiffeDir().resolve("ca.pem") + "," + TestCertificates.caPem());
        p.put("adit.routes", "mesh");
        p.put("adit.route.mesh.cluster", "echo");
        p.put("adit.route.mesh.allowed-identities", allowed);
        p.put("adit.route.mesh.allow-post", "true");
        p.put("adit.cluster.echo.endpoints", target.authority());
        adit = AditFixture.start(p);
        return adit;
    }

    private Tunnel assertRefused(TunnelClient client, int status, String... reason) throws Exception
    {
        try (Tunnel tunnel = client.open(target.authority(), TIMEOUT))
        {
            assertThat(tunnel.status()).as("%s", client.transport()).isEqualTo(status);
            assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains(reason);
            return tunnel;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void anAllowedIdentityGetsItsTunnel(Transport transport) throws Exception
    {
        start(TestCertificates.SPIFFE_CLIENT);
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), MutualTlsTest.spiffeClient()))
        {
            MutualTlsTest.assertEchoes(client, target);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void aPatternMatchingTheIdentityAllowsIt(Transport transport) throws Exception
    {
        start("spiffe://other.test/**, spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/*/sa/client");
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), MutualTlsTest.spiffeClient()))
        {
            MutualTlsTest.assertEchoes(client, target);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void anIdentityNotOnTheListIs403(Transport transport) throws Exception
    {
        start("spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/default/sa/server, spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/prod/**");
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), MutualTlsTest.spiffeClient()))
        {
            assertRefused(client, 403, "identity_denied", "identity " + TestCertificates.SPIFFE_CLIENT + " is not allowed by route mesh");
        }
        assertNoTunnel();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void noClientCertificateIs401(Transport transport) throws Exception
    {
        start(TestCertificates.SPIFFE_CLIENT);
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), TrustAll.sslContext()))
        {
            Tunnel refused = assertRefused(client, 401, "unauthenticated", "presented no TLS certificate");
            assertThat(refused.header("www-authenticate")).isNull();
        }
        assertNoTunnel();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void overThePlainListenerThereIsNoIdentity(Transport transport) throws Exception
    {
        start(TestCertificates.SPIFFE_CLIENT);
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            assertRefused(client, 401, "unauthenticated");
        }
        assertNoTunnel();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1_TLS", "H2"})
    void aTrustedCertificateWithoutSpiffeIdIs401(Transport transport) throws Exception
    {
        start(TestCertificates.SPIFFE_CLIENT);
        SSLContext noSpiffeId = TrustAll.withClientCertificate(TestCertificates.clientChain(), TestCertificates.clientKey());
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport), noSpiffeId))
        {
            assertRefused(client, 401, "unauthenticated", "CN=adit-client carries no SPIFFE ID");
        }
        assertNoTunnel();
    }

    @Test
    void aPostTunnelIsAuthorizedToo() throws Exception
    {
        start(TestCertificates.SPIFFE_CLIENT);
        try (Http2TunnelClient client = (Http2TunnelClient)TunnelClient.connect(Transport.H2, adit.address(Transport.H2), TrustAll.sslContext()))
        {
            // Jetty follows the 401 with RST_STREAM(CANCEL), as the request body was not read
            // (RFC 9113 §8.1 allows a response before the end of the request): look at the head only.
            CompletableFuture<Integer> status = new CompletableFuture<>();
            client.session().newStream(new HeadersFrame(post(), null, false), new Stream.Listener()
            {
                @Override
                public void onHeaders(Stream stream, HeadersFrame frame)
                {
                    if (frame.getMetaData() instanceof MetaData.Response response)
                        status.complete(response.getStatus());
                }
            });
            assertThat(status.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(401);
        }
        assertNoTunnel();
        try (Http2TunnelClient client = (Http2TunnelClient)TunnelClient.connect(Transport.H2, adit.address(Transport.H2), MutualTlsTest.spiffeClient());
             Tunnel tunnel = client.open(post(), null, TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(200);
            byte[] payload = Payloads.random(256 * 1024);
            tunnel.write(payload);
            tunnel.shutdownOutput();
            Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
            assertThat(echoed.count()).isEqualTo(payload.length);
            assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
        }
    }

    private static MetaData.Request post()
    {
        HttpFields fields = HttpFields.build().add("content-type", "application/octet-stream");
        return new MetaData.Request(HttpMethod.POST.asString(), HttpURI.build("https://adit.test/"), HttpVersion.HTTP_2, fields);
    }

    private void assertNoTunnel()
    {
        assertThat(adit.events.opened()).isZero();
        assertThat(target.accepted()).isZero();
    }
}
