package dev.adit.handler;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.adit.testing.Http2Tunnel;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Routes: order, every matcher, actions, the upgrade truth table and round-robin. Three named
 * targets ({@code A}, {@code B}, {@code C}) each say their name first, then echo, so the test
 * reads which endpoint a route chose.
 */
class RoutingTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private static TcpTarget a;
    private static TcpTarget b;
    private static TcpTarget c;
    private AditFixture adit;

    @BeforeAll
    static void targets() throws Exception
    {
        a = new TcpTarget(TcpTarget.sendThenEcho("A".getBytes(StandardCharsets.US_ASCII)));
        b = new TcpTarget(TcpTarget.sendThenEcho("B".getBytes(StandardCharsets.US_ASCII)));
        c = new TcpTarget(TcpTarget.sendThenEcho("C".getBytes(StandardCharsets.US_ASCII)));
    }

    @AfterAll
    static void closeTargets() throws Exception
    {
        a.close();
        b.close();
        c.close();
    }

    @AfterEach
    void stop() throws Exception
    {
        if (adit != null)
        {
            adit.assertQuiescentWithoutLeaks();
            adit.close();
        }
    }

    private static Map<String, String> clusters()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.cluster.a.endpoints", a.authority());
        p.put("adit.cluster.b.endpoints", b.authority());
        p.put("adit.cluster.c.endpoints", c.authority());
        return p;
    }

    /** The matcher table: one route per matcher type, in order, each to a named cluster. */
    private static Map<String, String> matcherRoutes()
    {
        Map<String, String> p = clusters();
        p.put("adit.routes", "exact,prefix,regex,present,wildcard,any-port,ipv6,cidr,absent,extended");
        p.put("adit.route.exact.match.header.x-exact.exact", "yes");
        p.put("adit.route.exact.cluster", "a");
        p.put("adit.route.prefix.match.header.x-prefix.prefix", "pre");
        p.put("adit.route.prefix.cluster", "a");
        p.put("adit.route.regex.match.header.x-regex.regex", "id-[0-9]+");
        p.put("adit.route.regex.cluster", "a");
        p.put("adit.route.present.match.header.x-present.present", "true");
        p.put("adit.route.present.cluster", "a");
        p.put("adit.route.wildcard.match.authority", "*.wild.test:443");
        p.put("adit.route.wildcard.cluster", "b");
        p.put("adit.route.any-port.match.authority", "exact.test");
        p.put("adit.route.any-port.cluster", "b");
        p.put("adit.route.ipv6.match.authority", "[2001:db8::1]:8443");
        p.put("adit.route.ipv6.cluster", "b");
        p.put("adit.route.cidr.match.authority", "10.0.0.0/8:22");
        p.put("adit.route.cidr.cluster", "b");
        p.put("adit.route.absent.match.authority", "absent.test:443");
        p.put("adit.route.absent.match.header.x-absent.present", "false");
        p.put("adit.route.absent.cluster", "c");
        p.put("adit.route.extended.match.connect", "extended");
        p.put("adit.route.extended.match.protocols", "test-tunnel");
        p.put("adit.route.extended.cluster", "c");
        return p;
    }

    static Stream<Arguments> matcherCases()
    {
        return Stream.of(
            Arguments.of("exact: the value matches", "x.test:443", Map.of("x-exact", "yes"), "A"),
            Arguments.of("exact: another value does not", "x.test:443", Map.of("x-exact", "yes!"), "404"),
            Arguments.of("prefix", "x.test:443", Map.of("x-prefix", "prefixed"), "A"),
            Arguments.of("prefix: not at the start", "x.test:443", Map.of("x-prefix", "a-pre"), "404"),
            Arguments.of("regex: whole value", "x.test:443", Map.of("x-regex", "id-42"), "A"),
            Arguments.of("regex: partial value does not match", "x.test:443", Map.of("x-regex", "id-42x"), "404"),
            Arguments.of("present", "x.test:443", Map.of("x-present", ""), "A"),
            Arguments.of("wildcard with port", "www.wild.test:443", Map.of(), "B"),
            Arguments.of("wildcard: deeper name", "a.b.wild.test:443", Map.of(), "B"),
            Arguments.of("wildcard: other port", "www.wild.test:8443", Map.of(), "404"),
            Arguments.of("wildcard: not the bare domain", "wild.test:443", Map.of(), "404"),
            Arguments.of("name without port: any port", "exact.test:5432", Map.of(), "B"),
            Arguments.of("name is case-insensitive", "EXACT.test:80", Map.of(), "B"),
            Arguments.of("IPv6 literal", "[2001:db8::1]:8443", Map.of(), "B"),
            Arguments.of("IPv6 literal, other port", "[2001:db8::1]:443", Map.of(), "404"),
            Arguments.of("CIDR", "10.20.30.40:22", Map.of(), "B"),
            Arguments.of("CIDR: outside", "11.0.0.1:22", Map.of(), "404"),
            Arguments.of("absent: header not sent", "absent.test:443", Map.of(), "C"),
            Arguments.of("absent: header sent", "absent.test:443", Map.of("x-absent", "1"), "404"),
            Arguments.of("order: the first matching route wins", "www.wild.test:443", Map.of("x-exact", "yes"), "A"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matcherCases")
    void everyMatcherType(String name, String target, Map<String, String> headers, String expected) throws Exception
    {
        adit = AditFixture.start(matcherRoutes());
        for (Transport transport : List.of(Transport.HTTP1, Transport.H2C))
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
            {
                assertThat(answer(client, target, headers)).as("%s over %s", name, transport).isEqualTo(expected);
            }
        }
    }

    @Test
    void extendedConnectMatchesOnItsProtocolAndOthersGoToTheNextHandler() throws Exception
    {
        Map<String, String> p = matcherRoutes();
        p.put("adit.http.upgrades", "CONNECT,test-tunnel");
        adit = AditFixture.start(p);
        try (Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, adit.address(Transport.H2C),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW))
        {
            try (Http2Tunnel tunnel = client.openExtended("x.test:443", "/t", "test-tunnel", Map.of(), TIMEOUT))
            {
                assertThat(tunnel.status()).isEqualTo(200);
                assertThat(readName(tunnel)).isEqualTo("C");
            }
            try (Http2Tunnel tunnel = client.openExtended("x.test:443", "/t", "websocket", Map.of(), TIMEOUT))
            {
                // No route takes it: the next handler (here Jetty's default) answers, not Adit.
                assertThat(tunnel.status()).isEqualTo(404);
                assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).doesNotContain("no_route");
            }
        }
    }

    @Test
    void plainConnectWithoutRouteIs404AndDenyRouteAnswersItsStatus() throws Exception
    {
        Map<String, String> p = clusters();
        p.put("adit.routes", "blocked,allowed");
        p.put("adit.route.blocked.match.authority", "*.blocked.test");
        p.put("adit.route.blocked.action", "deny");
        p.put("adit.route.blocked.deny-status", "451");
        p.put("adit.route.allowed.match.authority", "allowed.test:443");
        p.put("adit.route.allowed.cluster", "a");
        adit = AditFixture.start(p);
        for (Transport transport : Transport.values())
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
            {
                try (Tunnel tunnel = client.open("x.blocked.test:443", TIMEOUT))
                {
                    assertThat(tunnel.status()).as("%s", transport).isEqualTo(451);
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains("route_denied").contains("blocked");
                }
                try (Tunnel tunnel = client.open("elsewhere.test:443", TIMEOUT))
                {
                    assertThat(tunnel.status()).as("%s", transport).isEqualTo(404);
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains("no_route");
                }
                assertThat(answer(client, "allowed.test:443", Map.of())).isEqualTo("A");
            }
        }
        assertThat(a.accepted()).isGreaterThanOrEqualTo(Transport.values().length);
    }

    /**
     * Envoy's truth table: the route's setting wins when it has one; otherwise the listener's.
     * Disabled gets 403.
     */
    @ParameterizedTest(name = "listener {0}, route {1} -> {2}")
    @CsvSource({
        "CONNECT, , 200",
        "CONNECT, true, 200",
        "CONNECT, false, 403",
        "none, , 403",
        "none, true, 200",
        "none, false, 403"})
    void upgradeTruthTable(String listenerUpgrades, String routeEnabled, int expected) throws Exception
    {
        Map<String, String> p = clusters();
        p.put("adit.http.upgrades", listenerUpgrades);
        p.put("adit.https.upgrades", listenerUpgrades);
        p.put("adit.routes", "only");
        p.put("adit.route.only.cluster", "a");
        if (routeEnabled != null)
            p.put("adit.route.only.upgrade-enabled", routeEnabled);
        adit = AditFixture.start(p);
        for (Transport transport : Transport.values())
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport));
                 Tunnel tunnel = client.open("any.test:443", TIMEOUT))
            {
                assertThat(tunnel.status()).as("%s", transport).isEqualTo(expected);
                if (expected == 403)
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).contains("upgrade_disabled");
            }
        }
    }

    @Test
    void roundRobinSpreadsOverThreeEndpoints() throws Exception
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.cluster.three.endpoints", a.authority() + "," + b.authority() + "," + c.authority());
        p.put("adit.routes", "spread");
        p.put("adit.route.spread.cluster", "three");
        adit = AditFixture.start(p);
        Map<String, Integer> counts = new HashMap<>();
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, adit.address(Transport.H2C)))
        {
            for (int i = 0; i < 9; i++)
                counts.merge(answer(client, "any.test:443", Map.of()), 1, Integer::sum);
        }
        assertThat(counts).containsEntry("A", 3).containsEntry("B", 3).containsEntry("C", 3);
    }

    /** @return the name of the target that answered, or the status when the CONNECT failed */
    private static String answer(TunnelClient client, String target, Map<String, String> headers) throws Exception
    {
        try (Tunnel tunnel = client.open(target, headers, TIMEOUT))
        {
            if (!tunnel.established())
                return Integer.toString(tunnel.status());
            String name = readName(tunnel);
            tunnel.shutdownOutput();
            assertThat(tunnel.readToEnd(TIMEOUT).count()).isZero();
            return name;
        }
    }

    private static String readName(Tunnel tunnel) throws Exception
    {
        byte[] one = new byte[1];
        assertThat(tunnel.read(one, TIMEOUT)).isEqualTo(1);
        return new String(one, StandardCharsets.US_ASCII);
    }
}
