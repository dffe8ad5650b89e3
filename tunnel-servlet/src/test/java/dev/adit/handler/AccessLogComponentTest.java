package dev.adit.handler;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.adit.log.JsonLine;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

/**
 * The access log through a real server: one line per tunnel, established or refused, with the
 * fields Envoy would log for the same tunnel, and never a second line.
 */
class AccessLogComponentTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    @ParameterizedTest(name = "{0}")
    @EnumSource(Transport.class)
    void anEstablishedTunnelIsOneLineWithItsExactByteCounts(Transport transport) throws Exception
    {
        // Different sizes each way, so that swapped counts cannot pass.
        byte[] fromTarget = Payloads.random(70_001);
        byte[] fromClient = Payloads.random(300_017);
        TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(fromTarget));
        started.add(target);
        AditFixture adit = started.adit(Map.of());
        Instant before = Instant.now();
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport));
             Tunnel tunnel = client.open(target.authority(), TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(200);
            tunnel.write(fromClient);
            tunnel.shutdownOutput();
            Tunnel.ReadResult read = tunnel.readToEnd(TIMEOUT);
            assertThat(read.count()).isEqualTo(fromTarget.length);
            assertThat(read.sha256()).isEqualTo(Payloads.sha256(fromTarget));
            assertThat(target.received(0).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).sha256()).isEqualTo(Payloads.sha256(fromClient));
        }
        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, TIMEOUT).get(0);
        Instant after = Instant.now();

        Map<String, Object> line = JsonLine.parse(adit.accessLog.next(TIMEOUT));
        int aditPort = adit.address(transport).getPort();
        assertThat(line).contains(
            entry("protocol", transport.isHttp2() ? "HTTP/2" : "HTTP/1.1"),
            entry("authority", target.authority()),
            entry("response_code", 200L),
            entry("response_flags", "-"),
            entry("response_code_details", "completed"),
            entry("bytes_received", (long)fromClient.length),
            entry("bytes_sent", (long)fromTarget.length),
            entry("upstream_host", "127.0.0.1:" + target.port()),
            entry("upstream_cluster", "original-dst"),
            entry("downstream_local_address", "127.0.0.1:" + aditPort),
            entry("tunnel_id", closed.tunnel().id()));
        assertThat((String)line.get("downstream_remote_address")).matches("127\\.0\\.0\\.1:\\d+").isNotEqualTo("127.0.0.1:" + aditPort);
        Instant start = Instant.parse((String)line.get("start_time"));
        assertThat((String)line.get("start_time")).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        assertThat(start).isBetween(before.minusMillis(1), after);
        assertThat((Long)line.get("duration")).isBetween(0L, Duration.between(before, after).toMillis() + 1);
        assertThat(adit.accessLog.all()).as("lines").hasSize(1);
    }

    /**
     * Every refusal the handler answers is one line with its status, flag and cluster: no route,
     * a deny route, the destination policy, a malformed target, a connect failure.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void everyRefusalIsOneLineWithItsStatusAndFlag(Transport transport) throws Exception
    {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            closedPort = socket.getLocalPort();
        }
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "gone,loopback");
        p.put("adit.route.gone.action", "deny");
        p.put("adit.route.gone.deny-status", "451");
        p.put("adit.route.gone.match.authority", "gone.test");
        p.put("adit.route.loopback.match.authority", "127.0.0.0/8");
        p.put("adit.policy.deny", "127.0.0.66");
        AditFixture adit = started.adit(p);
        // target, status, flag, details, cluster
        String[][] cases = {
            {"nowhere.test:443", "404", "NR", "no_route", null},
            {"gone.test:443", "451", "-", "route_denied", null},
            {"127.0.0.66:80", "403", "-", "denied", "original-dst"},
            {"127.0.0.1:" + closedPort, "502", "UF", "connect_failed", "original-dst"},
        };
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            for (String[] c : cases)
            {
                try (Tunnel tunnel = client.open(c[0], TIMEOUT))
                {
                    assertThat(tunnel.status()).as(c[0]).isEqualTo(Integer.parseInt(c[1]));
                }
                Map<String, Object> line = JsonLine.parse(adit.accessLog.next(TIMEOUT));
                assertThat(line).as(c[0]).contains(
                    entry("authority", c[0]),
                    entry("protocol", transport.isHttp2() ? "HTTP/2" : "HTTP/1.1"),
                    entry("response_code", Long.parseLong(c[1])),
                    entry("response_flags", c[2]),
                    entry("response_code_details", c[3]),
                    entry("upstream_cluster", c[4]),
                    entry("upstream_host", null),
                    entry("bytes_received", 0L),
                    entry("bytes_sent", 0L),
                    entry("downstream_local_address", "127.0.0.1:" + adit.address(transport).getPort()));
                assertThat((String)line.get("downstream_remote_address")).matches("127\\.0\\.0\\.1:\\d+");
            }
        }
        assertThat(adit.events.refused()).extracting(r -> r.status()).containsExactly(404, 451, 403, 502);
        assertThat(adit.events.opened()).isZero();
        assertThat(adit.accessLog.all()).as("lines").hasSize(cases.length);
    }

    /**
     * A refusal relayed from an upstream proxy is one line on each side: the front logs the
     * upstream's status with its cluster, the back its own deny.
     */
    @ParameterizedTest(name = "upstream over {0}")
    @CsvSource({"http1", "h2"})
    void aRelayedRefusalIsOneLineOnEachSide(String protocol) throws Exception
    {
        AditFixture back = started.adit(Map.of(
            "adit.routes", "closed",
            "adit.route.closed.action", "deny",
            "adit.route.closed.deny-status", "407"));
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "all");
        p.put("adit.route.all.action", "proxy");
        p.put("adit.route.all.cluster", "up");
        p.put("adit.cluster.up.endpoints", "127.0.0.1:" + back.address(Transport.H2C).getPort());
        p.put("adit.cluster.up.protocol", protocol);
        AditFixture front = started.adit(p);
        try (TunnelClient client = TunnelClient.connect(Transport.HTTP1, front.address(Transport.HTTP1));
             Tunnel tunnel = client.open("example.test:443", TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(407);
        }
        Map<String, Object> frontLine = JsonLine.parse(front.accessLog.next(TIMEOUT));
        assertThat(frontLine).contains(
            entry("authority", "example.test:443"),
            entry("response_code", 407L),
            entry("response_flags", "-"),
            entry("response_code_details", "upstream_refused"),
            entry("upstream_cluster", "up"));
        Map<String, Object> backLine = JsonLine.parse(back.accessLog.next(TIMEOUT));
        assertThat(backLine).contains(
            entry("authority", "example.test:443"),
            entry("protocol", protocol.equals("h2") ? "HTTP/2" : "HTTP/1.1"),
            entry("response_code", 407L),
            entry("response_code_details", "route_denied"),
            entry("upstream_cluster", null));
        assertThat(front.accessLog.all()).hasSize(1);
        assertThat(back.accessLog.all()).hasSize(1);
    }
}
