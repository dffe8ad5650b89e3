package dev.adit.upstream;

import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import dev.adit.config.TlsClientConfig;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.tls.ClientTls;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * {@link TcpUpstream} originating TLS, with a preamble, against a TLS echo server that uses the
 * dev PKI: trust, mutual TLS, SPKI pins, SNI, host names, ALPN, the clear preamble before the
 * ClientHello, and the bound on a stalled handshake.
 */
@Timeout(value = 60, unit = SECONDS)
class TlsDialTest
{
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

    private static UpstreamHarness harness;
    private static Path otherPki;
    private final List<SslContextFactory.Client> factories = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception
    {
        harness = new UpstreamHarness();
        // A second, unrelated PKI: its CA has not signed the echo server's certificate.
        otherPki = Files.createTempDirectory("adit-other-pki");
        String script = System.getProperty("test.adit.certs.script", "../certs/gen-certs.sh");
        TestCertificates.run(otherPki, List.of("bash", Path.of(script).toAbsolutePath().toString(), otherPki.toString()));
    }

    @AfterAll
    static void stop() throws Exception
    {
        harness.close();
    }

    @AfterEach
    void stopFactoriesAndCheckLeaks() throws Exception
    {
        for (SslContextFactory.Client factory : factories)
            factory.stop();
        harness.assertQuiescentWithoutLeaks();
    }

    @Test
    void tlsCarriesTunnelBytesExactlyAndOffersAlpn() throws Exception
    {
        try (TlsEchoServer server = new TlsEchoServer(false, null, new String[]{"h2", "http/1.1"}, 0, new byte[0]))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of("http/1.1")));
            String target = "127.0.0.1:" + server.port();
            Tunnel tunnel = harness.newTunnel(target);
            harness.dialTunnel(target, options().withTls(tls, null), tunnel).get(10, SECONDS);

            TlsEchoServer.Session session = server.session(0).get(10, SECONDS);
            assertThat(session.applicationProtocol()).isEqualTo("http/1.1");
            assertThat(session.serverNames()).as("no SNI for an IP literal").isEmpty();
            try (Socket client = harness.attachClient(tunnel))
            {
                byte[] payload = Payloads.random(300_000);
                CompletableFuture<Void> writing = harness.writeAsync(client.getOutputStream(), payload);
                byte[] echoed = UpstreamHarness.readExactly(client.getInputStream(), payload.length);
                writing.get(10, SECONDS);
                assertThat(Payloads.sha256(echoed)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
            }
        }
    }

    @Test
    void whatTheServerSendsRightAfterTheHandshakeWaitsForTheTunnel() throws Exception
    {
        byte[] greeting = Payloads.random(5000);
        try (TlsEchoServer server = new TlsEchoServer(false, null, new String[0], 0, greeting))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
            String target = "localhost:" + server.port();
            Tunnel tunnel = harness.newTunnel(target);
            harness.dialTunnel(target, options().withTls(tls, null), tunnel).get(10, SECONDS);
            server.session(0).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                byte[] received = UpstreamHarness.readExactly(client.getInputStream(), greeting.length);
                assertThat(Payloads.sha256(received)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(greeting));
            }
        }
    }

    @Test
    void aCertificateFromAnotherCaFailsTheHandshake() throws Exception
    {
        try (TlsEchoServer server = TlsEchoServer.plain())
        {
            SslContextFactory.Client tls = started(config(Optional.of(otherPki.resolve("ca.pem")), false, List.of(), true, List.of()));
            TunnelException failure = dialFailure("127.0.0.1:" + server.port(), options().withTls(tls, null));

            assertThat(failure.failure()).isEqualTo(TunnelFailure.TLS_FAILED);
            assertThat(failure.getMessage()).startsWith("TLS handshake with 127.0.0.1:" + server.port() + " failed: ").contains("PKIX path");
        }
    }

    @Test
    void theClientCertificateIsPresentedForMutualTls() throws Exception
    {
        try (TlsEchoServer server = new TlsEchoServer(true, null, new String[0], 0, new byte[0]))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), true, List.of(), true, List.of()));
            assertEchoes(dialProbe("127.0.0.1:" + server.port(), options().withTls(tls, null)));

            TlsEchoServer.Session session = server.session(0).get(10, SECONDS);
            assertThat(session.clientCertificate()).isNotNull();
            assertThat(session.clientCertificate().getSubjectX500Principal().getName()).isEqualTo("CN=adit-client");
        }
    }

    /**
     * TLS 1.2, because under TLS 1.3 the client finishes its handshake before the server checks
     * the client certificate: the rejection then arrives as an alert on the first read.
     */
    @Test
    void withoutAClientCertificateAServerThatNeedsOneFailsTheHandshake() throws Exception
    {
        try (TlsEchoServer server = new TlsEchoServer(true, new String[]{"TLSv1.2"}, new String[0], 0, new byte[0]))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
            TunnelException failure = dialFailure("127.0.0.1:" + server.port(), options().withTls(tls, null));

            assertThat(failure.failure()).isEqualTo(TunnelFailure.TLS_FAILED);
            assertThat(failure.getMessage()).startsWith("TLS handshake with 127.0.0.1:" + server.port() + " failed: ");
        }
    }

    @Test
    void aMatchingSpkiPinIsAccepted() throws Exception
    {
        try (TlsEchoServer server = TlsEchoServer.plain())
        {
            String pin = ClientTls.spkiPin(TlsEchoServer.serverCertificate());
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(unrelatedPin(), pin), true, List.of()));

            assertEchoes(dialProbe("127.0.0.1:" + server.port(), options().withTls(tls, null)));
            assertThat(server.session(0).get(10, SECONDS).protocol()).startsWith("TLS");
        }
    }

    @Test
    void aMismatchingSpkiPinFailsAndNamesTheActualPin() throws Exception
    {
        try (TlsEchoServer server = TlsEchoServer.plain())
        {
            String expected = unrelatedPin();
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(expected), true, List.of()));
            TunnelException failure = dialFailure("127.0.0.1:" + server.port(), options().withTls(tls, null));

            assertThat(failure.failure()).isEqualTo(TunnelFailure.TLS_FAILED);
            assertThat(failure.getMessage())
                .contains("SPKI pin mismatch")
                .contains(ClientTls.spkiPin(TlsEchoServer.serverCertificate()))
                .contains(expected);
        }
    }

    @ParameterizedTest(name = "target {0}, sni {1}, verify host name {2}: server sees \"{3}\"")
    @CsvSource(nullValues = "null", value = {
        "localhost, null, true, localhost",
        "127.0.0.1, adit.test, false, adit.test",
        "127.0.0.1, null, true, ''",
    })
    void theServerSeesTheConfiguredSniOrTheTargetName(String host, String sni, boolean verifyHostname, String seen) throws Exception
    {
        try (TlsEchoServer server = TlsEchoServer.plain())
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), verifyHostname, List.of()));

            assertEchoes(dialProbe(host + ":" + server.port(), options().withTls(tls, sni)));
            List<String> names = server.session(0).get(10, SECONDS).serverNames();
            assertThat(names).isEqualTo(seen.isEmpty() ? List.of() : List.of(seen));
        }
    }

    @Test
    void aCertificateThatDoesNotMatchTheSniNameFailsWhenHostNamesAreVerified() throws Exception
    {
        try (TlsEchoServer server = TlsEchoServer.plain())
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
            TunnelException failure = dialFailure("127.0.0.1:" + server.port(), options().withTls(tls, "other.test"));

            assertThat(failure.failure()).isEqualTo(TunnelFailure.TLS_FAILED);
            assertThat(failure.getMessage()).contains("other.test");
        }
    }

    @Test
    void thePreambleArrivesInClearBeforeTheClientHello() throws Exception
    {
        byte[] preamble = "PROXY TCP4 192.0.2.1 198.51.100.7 51234 443\r\n".getBytes(StandardCharsets.US_ASCII);
        try (TlsEchoServer server = new TlsEchoServer(false, null, new String[0], preamble.length, new byte[0]))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
            DialOptions options = options().withTls(tls, null).withPreamble(ByteBuffer.wrap(preamble));

            assertEchoes(dialProbe("127.0.0.1:" + server.port(), options));
            // The server read exactly the preamble in clear, and then handshook.
            assertThat(server.session(0).get(10, SECONDS).preamble()).isEqualTo(preamble);
        }
    }

    @Test
    void thePreambleArrivesBeforeThePayloadOnPlainTcp() throws Exception
    {
        byte[] preamble = Payloads.random(28);
        byte[] payload = Payloads.random(100_000);
        try (TcpTarget target = new TcpTarget(TcpTarget.discard()))
        {
            Tunnel tunnel = harness.newTunnel(target.authority());
            harness.dialTunnel(target.authority(), options().withPreamble(ByteBuffer.wrap(preamble)), tunnel).get(10, SECONDS);
            try (Socket client = harness.attachClient(tunnel))
            {
                client.getOutputStream().write(payload);
                client.shutdownOutput();
                TcpTarget.Received received = target.received(0).get(10, SECONDS);

                byte[] expected = ByteBuffer.allocate(preamble.length + payload.length).put(preamble).put(payload).array();
                assertThat(received.count()).isEqualTo(expected.length);
                assertThat(received.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(expected));
                assertThat(client.getInputStream().read()).as("the target's FIN").isEqualTo(-1);
            }
        }
    }

    @Test
    void aStalledHandshakeTimesOutWithinTheConnectTimeout() throws Exception
    {
        try (TcpTarget target = new TcpTarget(TcpTarget.stall()))
        {
            SslContextFactory.Client tls = started(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
            DialOptions options = harness.plain(Duration.ofMillis(300)).withTls(tls, null);
            long start = System.nanoTime();
            TunnelException failure = dialFailure(target.authority(), options);
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(failure.failure()).isEqualTo(TunnelFailure.CONNECT_TIMEOUT);
            assertThat(failure.getMessage()).isEqualTo("TLS handshake with " + target.authority() + " timed out after 300 ms");
            assertThat(elapsedMillis).isBetween(250L, 3_000L);
        }
    }

    @Test
    void aFactoryThatIsNotStartedIsRefusedAtOnce()
    {
        SslContextFactory.Client tls = ClientTls.create(config(Optional.of(TestCertificates.caPem()), false, List.of(), true, List.of()));
        assertThatThrownBy(() -> dialProbe("127.0.0.1:1", options().withTls(tls, null)))
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("not started");
    }

    // ---- helpers ----

    private static DialOptions options()
    {
        return harness.plain(CONNECT_TIMEOUT);
    }

    private SslContextFactory.Client started(TlsClientConfig config) throws Exception
    {
        SslContextFactory.Client factory = ClientTls.create(config);
        factory.start();
        factories.add(factory);
        return factory;
    }

    private static TlsClientConfig config(Optional<Path> ca, boolean clientCertificate, List<String> pins, boolean verifyHostname, List<String> alpn)
    {
        return new TlsClientConfig(true, ca,
            clientCertificate ? Optional.of(TestCertificates.clientChain()) : Optional.empty(),
            clientCertificate ? Optional.of(TestCertificates.clientKey()) : Optional.empty(),
            Optional.empty(), alpn, pins, verifyHostname);
    }

    /** A well-formed pin that no certificate here has. */
    private static String unrelatedPin()
    {
        return Base64.getEncoder().encodeToString(Payloads.random(32));
    }

    /** Dials and installs an {@link EchoProbe}; returns it once the dial succeeded. */
    private static EchoProbe dialProbe(String target, DialOptions options) throws Exception
    {
        CompletableFuture<EchoProbe> made = new CompletableFuture<>();
        harness.dial(target, options, endPoint ->
        {
            EchoProbe probe = new EchoProbe(endPoint, harness.threads);
            made.complete(probe);
            return probe;
        }).get(10, SECONDS);
        return made.get(10, SECONDS);
    }

    private static void assertEchoes(EchoProbe probe) throws Exception
    {
        assertThat(probe.echoed().get(10, SECONDS)).as(Payloads.seedNote()).isEqualTo(probe.sent());
    }

    /** Dials expecting failure; the caller's connection must never be made. */
    private static TunnelException dialFailure(String target, DialOptions options) throws Exception
    {
        CompletableFuture<?> dialed = harness.dial(target, options, endPoint ->
        {
            throw new IllegalStateException("connection made for a failed dial");
        });
        try
        {
            dialed.get(10, SECONDS);
        }
        catch (ExecutionException x)
        {
            assertThat(x.getCause()).isInstanceOf(TunnelException.class);
            return (TunnelException)x.getCause();
        }
        return fail("dial to " + target + " succeeded");
    }
}
