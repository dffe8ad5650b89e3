package dev.adit.handler;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.adit.config.ConfigException;
import dev.adit.embed.AditServer;
import dev.adit.log.JsonLine;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TestCertificates;
import dev.adit.testing.Transport;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Encapsulating listeners end to end: plain TCP clients connect to a front Adit, which carries
 * each connection in a tunnel (HTTP/2 CONNECT over h2c or TLS, HTTP/1.1 CONNECT, or POST over
 * either) to a back Adit that terminates it to a TCP echo service. Real sockets everywhere.
 */
class EncapsulationTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    private TcpTarget echo() throws IOException
    {
        TcpTarget echo = new TcpTarget(TcpTarget.echo());
        started.add(echo);
        return echo;
    }

    /** A front Adit encapsulating on listener {@code demo} towards {@code upstream}, tunnels for {@code target}. */
    private static Map<String, String> front(int upstreamPort, String protocol, String target)
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.encaps", "demo");
        p.put("adit.encap.demo.port", "0");
        p.put("adit.encap.demo.cluster", "up");
        p.put("adit.encap.demo.hostname", target);
        p.put("adit.cluster.up.endpoints", "127.0.0.1:" + upstreamPort);
        p.put("adit.cluster.up.protocol", protocol);
        p.put("adit.cluster.up.connect-timeout", "10s");
        return p;
    }

    private static Map<String, String> tls(Map<String, String> p)
    {
        p.put("adit.cluster.up.tls.enabled", "true");
        p.put("adit.cluster.up.tls.ca", TestCertificates.caPem().toString());
        p.put("adit.cluster.up.tls.sni", "localhost");
        return p;
    }

    private static InetSocketAddress encap(AditFixture front)
    {
        return new InetSocketAddress("127.0.0.1", AditServer.port(front.server, "demo"));
    }

    private static Socket connect(InetSocketAddress address) throws IOException
    {
        Socket socket = new Socket();
        socket.connect(address, (int)TIMEOUT.toMillis());
        socket.setSoTimeout((int)TIMEOUT.toMillis());
        return socket;
    }

    /** Sends {@code payload}, half-closes, and checks the echo by digest. */
    private static void assertEchoes(InetSocketAddress address, byte[] payload) throws Exception
    {
        try (Socket socket = connect(address))
        {
            ExecutorService writer = Executors.newSingleThreadExecutor();
            try
            {
                Future<?> sent = writer.submit(() ->
                {
                    OutputStream out = socket.getOutputStream();
                    out.write(payload);
                    socket.shutdownOutput();
                    return null;
                });
                byte[] echoed = socket.getInputStream().readAllBytes();
                sent.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                assertThat(echoed.length).isEqualTo(payload.length);
                assertThat(Payloads.sha256(echoed)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
            }
            finally
            {
                writer.shutdownNow();
            }
        }
    }

    @ParameterizedTest(name = "cluster {0}, tls {1}")
    @CsvSource({"h2, false", "h2, true", "http1, false", "http1, true"})
    void tcpIsCarriedByteExactThroughTheTunnel(String protocol, boolean tls) throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = started.adit(Map.of());
        int port = back.address(tls ? Transport.H2 : Transport.H2C).getPort();
        Map<String, String> p = front(port, protocol, echo.authority());
        AditFixture front = started.adit(tls ? tls(p) : p);
        for (int size : new int[]{0, 1, 64 * 1024 + 7, 4 * 1024 * 1024})
            assertEchoes(encap(front), Payloads.random(size));
    }

    @Test
    void theSeedDemoMessagesComeBackOneByOne() throws Exception
    {
        TcpTarget server = new TcpTarget(peer ->
        {
            byte[] buffer = new byte[1024];
            for (int n; (n = peer.in().read(buffer)) >= 0; )
            {
                byte[] reply = ("Echo from server: " + new String(buffer, 0, n, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                peer.write(reply, 0, reply.length);
            }
            peer.socket().shutdownOutput();
        });
        started.add(server);
        AditFixture back = started.adit(Map.of());
        AditFixture front = started.adit(tls(front(back.address(Transport.H2).getPort(), "h2", server.authority())));
        try (Socket socket = connect(encap(front)))
        {
            for (int i = 1; i <= 5; i++)
            {
                String message = "Message " + i + " from client!";
                socket.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
                String expected = "Echo from server: " + message;
                assertThat(readExactly(socket.getInputStream(), expected.length())).isEqualTo(expected);
            }
            socket.shutdownOutput();
            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
        // One line per side, with the same counts: 5 messages in, 5 echoes out.
        Map<String, Object> client = JsonLine.parse(front.accessLog.next(TIMEOUT));
        Map<String, Object> terminating = JsonLine.parse(back.accessLog.next(TIMEOUT));
        for (Map<String, Object> log : List.of(client, terminating))
        {
            assertThat(log).as("%s", log).containsEntry("bytes_received", 110L).containsEntry("bytes_sent", 200L)
                .containsEntry("authority", server.authority()).containsEntry("response_code", 200L).containsEntry("response_flags", "-");
        }
        assertThat(client).containsEntry("protocol", "tcp").containsEntry("upstream_cluster", "up");
        assertThat(terminating).containsEntry("protocol", "HTTP/2").containsEntry("upstream_host", server.authority());
    }

    private static String readExactly(InputStream in, int n) throws IOException
    {
        byte[] bytes = in.readNBytes(n);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void headersCarryTheClientAddressAndConfiguredBaggage() throws Exception
    {
        TcpTarget echo = echo();
        // The back only lets a tunnel through when the front's headers are there.
        Map<String, String> b = new HashMap<>();
        b.put("adit.routes", "hbone,rest");
        b.put("adit.route.hbone.match.header.forwarded.regex", "for=\"127\\.0\\.0\\.1:\\d+\"");
        b.put("adit.route.hbone.match.header.baggage.exact", "k8s.namespace.name=demo,k8s.cluster.name=test");
        b.put("adit.route.hbone.match.header.x-original-port.regex", "\\d+");
        b.put("adit.route.rest.action", "deny");
        AditFixture back = started.adit(b);
        Map<String, String> p = front(back.address(Transport.H2C).getPort(), "h2", echo.authority());
        p.put("adit.encap.demo.header.baggage", "k8s.namespace.name=demo,k8s.cluster.name=test");
        p.put("adit.encap.demo.header.x-original-port", "%DOWNSTREAM_LOCAL_PORT%");
        AditFixture front = started.adit(p);
        assertEchoes(encap(front), Payloads.random(10_000));
    }

    @Test
    void theTargetCanComeFromTheClientsConnection() throws Exception
    {
        // %DOWNSTREAM_LOCAL_ADDRESS% is where the client connected: the encapsulating listener
        // itself. A back that routes that target to the echo service shows the value arrived.
        TcpTarget echo = echo();
        Map<String, String> b = new HashMap<>();
        b.put("adit.routes", "local");
        b.put("adit.route.local.match.authority", "127.0.0.1");
        b.put("adit.route.local.cluster", "echo");
        b.put("adit.cluster.echo.endpoints", echo.authority());
        AditFixture back = started.adit(b);
        AditFixture front = started.adit(front(back.address(Transport.H2C).getPort(), "h2", "%DOWNSTREAM_LOCAL_ADDRESS%"));
        assertEchoes(encap(front), Payloads.random(5000));
    }

    /** A back that terminates POST tunnels to {@code /tunnel/...} (and nothing else). */
    private AditFixture postBack() throws Exception
    {
        Map<String, String> b = new HashMap<>();
        b.put("adit.routes", "post");
        b.put("adit.route.post.allow-post", "true");
        b.put("adit.route.post.match.path-prefix", "/tunnel/");
        return started.adit(b);
    }

    /** {@link #front}, opening POST tunnels to {@code /tunnel/tcp}. */
    private static Map<String, String> postFront(int upstreamPort, String protocol, String target)
    {
        Map<String, String> p = front(upstreamPort, protocol, target);
        p.put("adit.encap.demo.mode", "post");
        p.put("adit.encap.demo.post-path", "/tunnel/tcp");
        return p;
    }

    @ParameterizedTest(name = "cluster {0}, tls {1}")
    @CsvSource({"h2, false", "http1, false", "http1, true"})
    void postTunnelsCarryBytesExactly(String protocol, boolean tls) throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = postBack();
        Map<String, String> p = postFront(back.address(tls ? Transport.H2 : Transport.H2C).getPort(), protocol, echo.authority());
        AditFixture front = started.adit(tls ? tls(p) : p);
        for (int size : new int[]{0, 1, 1024 * 1024 + 3})
            assertEchoes(encap(front), Payloads.random(size));
        // Both sides saw a POST tunnel, over the cluster's protocol.
        Map<String, Object> terminating = JsonLine.parse(back.accessLog.next(TIMEOUT));
        assertThat(terminating).containsEntry("protocol", protocol.equals("h2") ? "POST HTTP/2" : "POST HTTP/1.1")
            .containsEntry("response_code", 200L).containsEntry("response_flags", "-");
    }

    @ParameterizedTest(name = "upstream answers {0}")
    @ValueSource(ints = {403, 503})
    void aRefusedTunnelClosesTheClient(int status) throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = started.adit(Map.of("adit.routes", "no", "adit.route.no.action", "deny", "adit.route.no.deny-status", Integer.toString(status)));
        AditFixture front = started.adit(front(back.address(Transport.H2C).getPort(), "h2", echo.authority()));
        try (Socket socket = connect(encap(front)))
        {
            socket.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            assertClosedByPeer(socket);
        }
        assertThat(echo.accepted()).isZero();
        assertThat(front.events.opened()).isZero();
        Map<String, Object> log = JsonLine.parse(front.accessLog.next(TIMEOUT));
        assertThat(log).containsEntry("protocol", "tcp").containsEntry("response_code", (long)status)
            .containsEntry("upstream_cluster", "up").containsEntry("authority", echo.authority()).containsEntry("bytes_sent", 0L);
    }

    @Test
    void anUnreachableUpstreamClosesTheClient() throws Exception
    {
        int closedPort;
        try (ServerSocket unused = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            closedPort = unused.getLocalPort();
        }
        AditFixture front = started.adit(front(closedPort, "h2", "127.0.0.1:9"));
        try (Socket socket = connect(encap(front)))
        {
            assertClosedByPeer(socket);
        }
    }

    /** The peer closed: end of input, or a reset when the client's unread bytes were dropped. */
    private static void assertClosedByPeer(Socket socket) throws IOException
    {
        try
        {
            assertThat(socket.getInputStream().read()).isEqualTo(-1);
        }
        catch (SocketTimeoutException x)
        {
            throw new AssertionError("the client's connection was not closed within " + TIMEOUT, x);
        }
        catch (SocketException reset)
        {
            assertThat(reset.getMessage()).containsIgnoringCase("reset");
        }
    }

    /** A back that terminates HBONE-style: mutual TLS with SVIDs of the SPIFFE test PKI, and an identity allow list. */
    private AditFixture hboneBack(String allowedIdentities) throws Exception
    {
        Path spiffe = TestCertificates.spiffeDir();
        Map<String, String> b = new HashMap<>();
        b.put("adit.tls.cert-chain", spiffe.resolve("server.pem").toString());
        b.put("adit.tls.private-key", spiffe.resolve("server.key").toString());
        b.put("adit.tls.client-auth", "need");
        b.put("adit.tls.client-ca", spiffe.resolve("ca.pem").toString());
        b.put("adit.tls.protocols", "TLSv1.3");
        b.put("adit.routes", "hbone");
        b.put("adit.route.hbone.allowed-identities", allowedIdentities);
        return started.adit(b);
    }

    /** A front presenting the client certificate of {@code pki}, accepting the back by its SPIFFE id. */
    private static Map<String, String> hboneFront(AditFixture back, Path pki, String target)
    {
        Map<String, String> p = front(back.address(Transport.H2).getPort(), "h2", target);
        p.put("adit.cluster.up.tls.enabled", "true");
        p.put("adit.cluster.up.tls.ca", TestCertificates.spiffeDir().resolve("ca.pem").toString());
        p.put("adit.cluster.up.tls.cert-chain", pki.resolve("client.pem").toString());
        p.put("adit.cluster.up.tls.private-key", pki.resolve("client.key").toString());
        p.put("adit.cluster.up.tls.spiffe-ids", TestCertificates.SPIFFE_SERVER);
        return p;
    }

    @Test
    void hboneWithMutualTlsAndAnAllowedIdentityCarriesTheBytes() throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = hboneBack(TestCertificates.SPIFFE_CLIENT);
        AditFixture front = started.adit(hboneFront(back, TestCertificates.spiffeDir(), echo.authority()));
        assertEchoes(encap(front), Payloads.random(1024 * 1024));
    }

    @Test
    void hboneRefusesAnIdentityNotOnTheAllowList() throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = hboneBack("spiffe://" + TestCertificates.TRUST_DOMAIN + "/ns/default/sa/someone-else");
        AditFixture front = started.adit(hboneFront(back, TestCertificates.spiffeDir(), echo.authority()));
        try (Socket socket = connect(encap(front)))
        {
            socket.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            assertClosedByPeer(socket);
        }
        assertThat(echo.accepted()).isZero();
        assertThat(JsonLine.parse(front.accessLog.next(TIMEOUT))).containsEntry("response_code", 403L);
        assertThat(JsonLine.parse(back.accessLog.next(TIMEOUT))).containsEntry("response_code", 403L)
            .containsEntry("response_code_details", "identity_denied");
    }

    @Test
    void hboneRefusesAClientCertificateFromAnotherCa() throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = hboneBack(TestCertificates.SPIFFE_CLIENT);
        // The plain dev PKI: a real CA and client certificate, but not the one the back trusts.
        AditFixture front = started.adit(hboneFront(back, TestCertificates.dir(), echo.authority()));
        try (Socket socket = connect(encap(front)))
        {
            assertClosedByPeer(socket);
        }
        assertThat(echo.accepted()).isZero();
        Map<String, Object> log = JsonLine.parse(front.accessLog.next(TIMEOUT));
        // TLS 1.3: the client's handshake completes before the server checks its certificate,
        // so the refusal shows as the connection failing under the pool, not as a TLS failure.
        assertThat(log).containsEntry("response_code", 0L);
        assertThat((String)log.get("response_flags")).isIn("UF", "UPE");
        assertThat(back.events.opened()).isZero();
    }

    @ParameterizedTest(name = "cluster {0}, mode {1}")
    @CsvSource({"h2, connect", "http1, post"})
    void halfCloseTravelsBothWays(String protocol, String mode) throws Exception
    {
        byte[] fromTarget = Payloads.random(300_000);
        TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(fromTarget));
        started.add(target);
        boolean post = mode.equals("post");
        AditFixture back = post ? postBack() : started.adit(Map.of());
        int port = back.address(Transport.H2C).getPort();
        AditFixture front = started.adit(post ? postFront(port, protocol, target.authority()) : front(port, protocol, target.authority()));
        try (Socket socket = connect(encap(front)))
        {
            // The target finished first: its FIN arrives while we may still send.
            byte[] received = socket.getInputStream().readAllBytes();
            assertThat(Payloads.sha256(received)).isEqualTo(Payloads.sha256(fromTarget));
            byte[] fromClient = Payloads.random(200_000);
            socket.getOutputStream().write(fromClient);
            socket.shutdownOutput();
            TcpTarget.Received got = target.received(0).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertThat(got.count()).isEqualTo(fromClient.length);
            assertThat(got.sha256()).isEqualTo(Payloads.sha256(fromClient));
        }
        // And the other way: the client finishes first, the echo still answers all of it.
        TcpTarget echo = echo();
        AditFixture front2 = started.adit(post ? postFront(port, protocol, echo.authority()) : front(port, protocol, echo.authority()));
        assertEchoes(encap(front2), Payloads.random(500_000));
        for (AditFixture side : List.of(front, back, front2, back))
            assertThat(JsonLine.parse(side.accessLog.next(TIMEOUT))).containsEntry("response_flags", "-");
    }

    @ParameterizedTest(name = "cluster {0}, mode {1}")
    @CsvSource({"h2, connect", "http1, post"})
    void aResetTravelsBothWays(String protocol, String mode) throws Exception
    {
        // The target resets after 1000 bytes: the client's connection is reset, not ended.
        TcpTarget resetting = new TcpTarget(TcpTarget.resetAfter(1000));
        started.add(resetting);
        boolean post = mode.equals("post");
        AditFixture back = post ? postBack() : started.adit(Map.of());
        int port = back.address(Transport.H2C).getPort();
        AditFixture front = started.adit(post ? postFront(port, protocol, resetting.authority()) : front(port, protocol, resetting.authority()));
        try (Socket socket = connect(encap(front)))
        {
            socket.getOutputStream().write(Payloads.random(1000));
            assertThatThrownBy(() -> socket.getInputStream().readAllBytes())
                .isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
        assertThat(JsonLine.parse(front.accessLog.next(TIMEOUT))).containsEntry("response_flags", "UR");
        assertThat(JsonLine.parse(back.accessLog.next(TIMEOUT))).containsEntry("response_flags", "UR");

        // The client resets (SO_LINGER 0): the target's connection is reset too.
        TcpTarget discard = new TcpTarget(TcpTarget.discard());
        started.add(discard);
        AditFixture front2 = started.adit(post ? postFront(port, protocol, discard.authority()) : front(port, protocol, discard.authority()));
        try (Socket socket = connect(encap(front2)))
        {
            socket.getOutputStream().write(Payloads.random(5000));
            assertThat(awaitOpen(front2)).isTrue();
            socket.setSoLinger(true, 0);
        }
        assertThatThrownBy(() -> discard.received(0).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS))
            .hasRootCauseInstanceOf(SocketException.class);
        assertThat(JsonLine.parse(front2.accessLog.next(TIMEOUT))).containsEntry("response_flags", "DC");
        assertThat(JsonLine.parse(back.accessLog.next(TIMEOUT))).containsEntry("response_flags", "DC");
    }

    private static boolean awaitOpen(AditFixture adit) throws InterruptedException
    {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (adit.events.open() == 0 && System.nanoTime() < deadline)
            adit.events.awaitChange(100);
        return adit.events.open() > 0;
    }

    @Test
    void bytesSentBeforeTheUpstreamAnswersArriveFirst() throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = started.adit(Map.of());
        // The front's pooled connection goes through a gate that holds back everything the back
        // says (SETTINGS, the 200) until the client has written: its bytes are early for sure.
        try (Gate gate = new Gate(back.address(Transport.H2C)))
        {
            AditFixture front = started.adit(front(gate.port(), "h2", echo.authority()));
            byte[] early = Payloads.random(100_000);
            byte[] late = Payloads.random(50_000);
            try (Socket socket = connect(encap(front)))
            {
                socket.getOutputStream().write(early);
                assertThat(gate.awaitConnected(TIMEOUT)).as("the front dialled the back").isTrue();
                gate.open();
                socket.getOutputStream().write(late);
                socket.shutdownOutput();
                byte[] echoed = socket.getInputStream().readAllBytes();
                ByteArrayOutputStream expected = new ByteArrayOutputStream();
                expected.write(early);
                expected.write(late);
                assertThat(Payloads.sha256(echoed)).isEqualTo(Payloads.sha256(expected.toByteArray()));
            }
        }
    }

    @Test
    void aThousandConcurrentConnectionsShareThePoolByteExact() throws Exception
    {
        int clients = 1000;
        int maxStreams = 100;
        TcpTarget echo = echo();
        AditFixture back = started.adit(Map.of("adit.tunnel.connect-timeout", "20s"));
        Set<SocketAddress> backConnections = countConnections(back);
        Map<String, String> p = front(back.address(Transport.H2C).getPort(), "h2", echo.authority());
        p.put("adit.cluster.up.max-streams-per-connection", Integer.toString(maxStreams));
        p.put("adit.cluster.up.connect-timeout", "30s");
        AditFixture front = started.adit(p);
        InetSocketAddress address = encap(front);

        // All connected and written before any is read: they are open at the same time.
        List<Socket> sockets = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        try
        {
            for (int i = 0; i < clients; i++)
            {
                Socket socket = connect(address);
                sockets.add(socket);
                byte[] payload = Payloads.random(1000 + i);
                payloads.add(payload);
                socket.getOutputStream().write(payload);
                socket.shutdownOutput();
            }
            ExecutorService readers = Executors.newFixedThreadPool(16);
            try
            {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i = 0; i < clients; i++)
                {
                    Socket socket = sockets.get(i);
                    byte[] payload = payloads.get(i);
                    results.add(readers.submit(() -> Payloads.sha256(socket.getInputStream().readAllBytes()).equals(Payloads.sha256(payload))));
                }
                for (Future<Boolean> result : results)
                    assertThat(result.get(120, TimeUnit.SECONDS)).as(Payloads.seedNote()).isTrue();
            }
            finally
            {
                readers.shutdownNow();
            }
        }
        finally
        {
            for (Socket socket : sockets)
                socket.close();
        }
        assertThat(backConnections).as("HTTP/2 connections the back accepted").isNotEmpty()
            .hasSizeLessThanOrEqualTo(clients / maxStreams + 2);
    }

    @Test
    void aKilledUpstreamConnectionEndsItsTunnelsAndNewOnesUseAFreshOne() throws Exception
    {
        TcpTarget echo = echo();
        AditFixture back = started.adit(Map.of());
        AditFixture front = started.adit(front(back.address(Transport.H2C).getPort(), "h2", echo.authority()));
        List<Socket> live = new ArrayList<>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                Socket socket = connect(encap(front));
                live.add(socket);
                byte[] ping = Payloads.random(1000);
                socket.getOutputStream().write(ping);
                assertThat(socket.getInputStream().readNBytes(ping.length)).isEqualTo(ping);
            }
            // Kill the back's end of the pooled connection: the socket goes away under the session.
            for (Connector connector : back.server.getConnectors())
            {
                for (EndPoint endPoint : connector.getConnectedEndPoints())
                    endPoint.close(new IOException("killed by the test"));
            }
            for (Socket socket : live)
                assertClosedByPeer(socket);
        }
        finally
        {
            for (Socket socket : live)
                socket.close();
        }
        assertEchoes(encap(front), Payloads.random(70_000));
    }

    @Test
    void badEncapsulationSettingsNameTheirKeys()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.encaps", "demo,other");
        p.put("adit.encap.demo.port", "0");
        p.put("adit.encap.demo.cluster", "up");
        p.put("adit.encap.demo.hostname", "%DOWNSTREAM_LOCAL_IP%:80");
        p.put("adit.encap.demo.mode", "put");
        p.put("adit.encap.demo.header.connection", "close");
        p.put("adit.cluster.up.endpoints", "127.0.0.1:1");
        p.put("adit.encap.other.cluster", "nowhere");
        p.put("adit.encap.stray.port", "1");
        assertThatThrownBy(() -> started.adit(p))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("adit.encap.demo.hostname: %DOWNSTREAM_LOCAL_IP%:80")
            .hasMessageContaining("adit.encap.demo.mode: put")
            .hasMessageContaining("adit.encap.demo.header.connection: connection")
            .hasMessageContaining("adit.encap.other.port: (none)")
            .hasMessageContaining("adit.encap.other.cluster: nowhere")
            .hasMessageContaining("adit.encap.stray.port: encapsulating listener stray is not listed");
    }

    private static Set<SocketAddress> countConnections(AditFixture adit)
    {
        Set<SocketAddress> connections = ConcurrentHashMap.newKeySet();
        for (Connector connector : adit.server.getConnectors())
        {
            connector.addBean(new Connection.Listener()
            {
                @Override
                public void onOpened(Connection connection)
                {
                    connections.add(connection.getEndPoint().getRemoteSocketAddress());
                }
            });
        }
        return connections;
    }

    /**
     * A TCP relay to one address that passes bytes towards it at once and bytes back only after
     * {@link #open()}.
     */
    private static final class Gate implements AutoCloseable
    {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final InetSocketAddress to;
        private final CountDownLatch connected = new CountDownLatch(1);
        private final CountDownLatch opened = new CountDownLatch(1);
        private final ExecutorService threads = Executors.newCachedThreadPool();
        private final List<Socket> sockets = new ArrayList<>();

        Gate(InetSocketAddress to) throws IOException
        {
            this.to = to;
            threads.execute(this::accept);
        }

        int port()
        {
            return server.getLocalPort();
        }

        boolean awaitConnected(Duration timeout) throws InterruptedException
        {
            return connected.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        void open()
        {
            opened.countDown();
        }

        private void accept()
        {
            try
            {
                while (true)
                {
                    Socket in = server.accept();
                    Socket out = new Socket(to.getAddress(), to.getPort());
                    synchronized (sockets)
                    {
                        sockets.add(in);
                        sockets.add(out);
                    }
                    connected.countDown();
                    threads.execute(() -> copy(in, out, false));
                    threads.execute(() -> copy(out, in, true));
                }
            }
            catch (IOException closed)
            {
                // the gate is closing
            }
        }

        private void copy(Socket from, Socket to, boolean gated)
        {
            try
            {
                if (gated && !opened.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS))
                    return;
                byte[] buffer = new byte[16 * 1024];
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                for (int n; (n = in.read(buffer)) >= 0; )
                    out.write(buffer, 0, n);
                to.shutdownOutput();
            }
            catch (IOException | InterruptedException x)
            {
                // either side went away: the test sees it through the tunnel
            }
        }

        @Override
        public void close() throws IOException
        {
            server.close();
            synchronized (sockets)
            {
                for (Socket socket : sockets)
                    socket.close();
            }
            threads.shutdownNow();
        }
    }
}
