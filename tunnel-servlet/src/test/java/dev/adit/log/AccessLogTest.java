package dev.adit.log;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

class AccessLogTest
{
    private static final Instant START = Instant.parse("2024-12-03T11:37:59.042Z");
    private static final Instant END = Instant.parse("2024-12-03T11:38:04.054Z");

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final AccessLog log = new AccessLog(lines::add, () -> true, Clock.fixed(END, ZoneOffset.UTC));

    record Info(String id, String authority, String protocol, SocketAddress downstreamRemoteAddress, SocketAddress downstreamLocalAddress,
                SocketAddress upstreamAddress, Instant startTime, long bytesFromDownstream, long bytesFromUpstream, String upstreamCluster,
                int responseCode) implements TunnelInfo
    {
    }

    @Test
    void anEstablishedTunnelIsOneLineWithEnvoysFieldsAndTypes() throws Exception
    {
        Info tunnel = new Info("1z", "example.com:443", "HTTP/2",
            new InetSocketAddress(InetAddress.getByName("::1"), 50123), new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8443),
            new InetSocketAddress(InetAddress.getByName("93.184.215.14"), 443), START, 88, 160, "original-dst", 200);

        log.onClosed(tunnel, TunnelFailure.COMPLETED, null);

        assertThat(lines).hasSize(1);
        Map<String, Object> json = JsonLine.parse(lines.get(0));
        assertThat(json).containsExactly(
            entry("start_time", "2024-12-03T11:37:59.042Z"),
            entry("duration", 5012L),
            entry("protocol", "HTTP/2"),
            entry("authority", "example.com:443"),
            entry("response_code", 200L),
            entry("response_flags", "-"),
            entry("response_code_details", "completed"),
            entry("bytes_received", 88L),
            entry("bytes_sent", 160L),
            entry("upstream_host", "93.184.215.14:443"),
            entry("upstream_cluster", "original-dst"),
            entry("downstream_remote_address", "[::1]:50123"),
            entry("downstream_local_address", "127.0.0.1:8443"),
            entry("tunnel_id", "1z"));
    }

    @Test
    void aRefusedTunnelHasItsStatusAndFlagAndNullsForWhatIsUnknown() throws Exception
    {
        Info tunnel = new Info("2a", "nowhere.test:80", "HTTP/1.1", new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 40000),
            new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080), null, START.plusMillis(958), 0, 0, null, 404);

        log.onRefused(tunnel, TunnelFailure.NO_ROUTE, null);

        Map<String, Object> json = JsonLine.parse(lines.get(0));
        assertThat(json).contains(
            entry("start_time", "2024-12-03T11:38:00.000Z"),
            entry("duration", 4054L),
            entry("response_code", 404L),
            entry("response_flags", "NR"),
            entry("response_code_details", "no_route"),
            entry("bytes_received", 0L),
            entry("bytes_sent", 0L),
            entry("upstream_host", null),
            entry("upstream_cluster", null));
    }

    @Test
    void aTargetMadeUpByTheClientCannotBreakTheLineOrTheObject() throws Exception
    {
        String hostile = "a\"b\\c\n\u0001{}\u00e9\u2028\",\"response_code\":200:80";
        Info tunnel = new Info("3b", hostile, "HTTP/1.1", null, null, null, START, 0, 0, null, 400);

        log.onRefused(tunnel, TunnelFailure.MALFORMED_TARGET, null);

        String line = lines.get(0);
        assertThat(line.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).as("printable ASCII: %s", line).isTrue();
        Map<String, Object> json = JsonLine.parse(line);
        assertThat(json).contains(entry("authority", hostile), entry("response_code", 400L), entry("response_flags", "DPE"),
            entry("downstream_remote_address", null));
    }

    @Test
    void nothingIsFormattedWhenTheLoggerIsOff()
    {
        AccessLog off = new AccessLog(lines::add, () -> false, Clock.systemUTC());
        Info tunnel = new Info("4c", "example.com:443", "HTTP/1.1", null, null, null, START, 0, 0, null, 200);

        off.onClosed(tunnel, TunnelFailure.COMPLETED, null);
        off.onRefused(tunnel, TunnelFailure.DENIED, null);

        assertThat(lines).isEmpty();
    }

    @Test
    void addressesAreIpColonPortWithIpv6InBrackets() throws Exception
    {
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 1))).isEqualTo("10.1.2.3:1");
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("2001:db8::5"), 443))).isEqualTo("[2001:db8::5]:443");
        assertThat(AccessLog.address(new InetSocketAddress(InetAddress.getByName("fe80::1%1"), 80))).as("no scope id").isEqualTo("[fe80::1]:80");
        assertThat(AccessLog.address(InetSocketAddress.createUnresolved("backend.internal", 8443))).isEqualTo("backend.internal:8443");
        assertThat(AccessLog.address(null)).isNull();
    }
}
