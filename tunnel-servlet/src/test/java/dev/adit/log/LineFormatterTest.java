package dev.adit.log;

import java.io.IOException;
import java.io.StringWriter;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelInfo;
import dev.adit.log.AccessLogTest.Info;
import dev.adit.policy.Authority;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reused formatter prints, character for character, what the access log printed with a
 * generator, a {@link DateTimeFormatter} and an {@link Authority} per line: {@link #reference}
 * is that code, kept here as the oracle.
 */
class LineFormatterTest
{
    private static final JsonFactory JSON = JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
    private static final DateTimeFormatter START_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final TunnelFailure[] OUTCOMES = TunnelFailure.values();

    @Test
    void manyLinesFromOneFormatterAreEachExactlyWhatAFreshGeneratorPrinted() throws Exception
    {
        SplittableRandom random = new SplittableRandom(6);
        LineFormatter formatter = new LineFormatter();
        for (int i = 0; i < 5_000; i++)
        {
            Info tunnel = randomTunnel(random, i);
            TunnelFailure outcome = OUTCOMES[random.nextInt(OUTCOMES.length)];
            Instant end = tunnel.startTime().plusNanos(random.nextLong(-1_000_000_000L, 100_000_000_000_000L));
            assertThat(formatter.format(tunnel, outcome, end)).as("line %d", i).isEqualTo(reference(tunnel, outcome, end));
        }
    }

    @Test
    void aLineLongerThanTheKeptBufferIsFollowedByShortOnesIntact() throws Exception
    {
        LineFormatter formatter = new LineFormatter();
        Instant start = Instant.parse("2024-12-03T11:37:59.042Z");
        Info big = new Info("big", "\u00e9".repeat(5_000) + ":443", "HTTP/1.1", null, null, null, start, 0, 0, null, 400);
        Info small = new Info("small", "example.com:443", "HTTP/2", null, null, null, start, 1, 2, "c", 200);

        assertThat(formatter.format(big, TunnelFailure.MALFORMED_TARGET, start)).isEqualTo(reference(big, TunnelFailure.MALFORMED_TARGET, start));
        assertThat(formatter.format(small, TunnelFailure.COMPLETED, start)).isEqualTo(reference(small, TunnelFailure.COMPLETED, start));
    }

    @Test
    void ipv6AddressesAreBracketedInRfc5952TextWithoutScope() throws Exception
    {
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)0xff, (byte)0xff, 10, 1, 2, 3};
        assertThat(address(new InetSocketAddress(InetAddress.getByName("::"), 1))).isEqualTo("[::]:1");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("::1"), 65535))).isEqualTo("[::1]:65535");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("2001:DB8:0:0:1:0:0:1"), 443))).isEqualTo("[2001:db8::1:0:0:1]:443");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("2001:db8:0:1:1:1:1:1"), 443))).as("one zero group stays").isEqualTo("[2001:db8:0:1:1:1:1:1]:443");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("fe80::abcd%1"), 80))).isEqualTo("[fe80::abcd]:80");
        assertThat(address(new InetSocketAddress(Inet6Address.getByAddress(null, mapped, -1), 80))).isEqualTo("[::ffff:10.1.2.3]:80");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("::ffff:10.1.2.3"), 80))).as("the JDK makes this IPv4").isEqualTo("10.1.2.3:80");
    }

    @Test
    void addressesWithoutAnIpOrAPortArePrintedByTheirHostString() throws Exception
    {
        assertThat(address(InetSocketAddress.createUnresolved("backend.internal", 8443))).isEqualTo("backend.internal:8443");
        assertThat(address(InetSocketAddress.createUnresolved("2001:db8::1", 8443))).isEqualTo("[2001:db8::1]:8443");
        assertThat(address(new InetSocketAddress(InetAddress.getByName("10.0.0.1"), 0))).isEqualTo("10.0.0.1:0");
    }

    private static String address(InetSocketAddress address)
    {
        String text = LineFormatter.append(new StringBuilder(), address).toString();
        assertThat(text).isEqualTo(referenceAddress(address));
        return text;
    }

    private static Info randomTunnel(SplittableRandom random, int i) throws IOException
    {
        Instant start = i % 50 == 0
            ? Instant.ofEpochSecond(random.nextLong(-62_000_000_000L, 253_000_000_000L), random.nextInt(1_000_000_000))
            : Instant.parse("2024-12-03T23:59:58Z").plusNanos(random.nextLong(4_000_000_000L));
        return new Info(randomText(random), randomText(random), random.nextBoolean() ? "HTTP/1.1" : null,
            randomAddress(random), randomAddress(random), randomAddress(random), start,
            random.nextLong(Long.MAX_VALUE), random.nextInt(3) == 0 ? 0 : random.nextLong(1L << 40), randomText(random),
            random.nextInt(-1, 1000));
    }

    private static String randomText(SplittableRandom random)
    {
        if (random.nextInt(8) == 0)
            return null;
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(40);
        for (int i = 0; i < length; i++)
        {
            text.append(switch (random.nextInt(6))
            {
                case 0 -> (char)random.nextInt(0x20); // controls
                case 1 -> "\"\\/{}:,".charAt(random.nextInt(7));
                case 2 -> (char)random.nextInt(0x80, 0x800);
                case 3 -> (char)random.nextInt(0x800, 0x10000); // lone surrogates included
                default -> (char)random.nextInt(0x20, 0x7f);
            });
        }
        return text.toString();
    }

    private static SocketAddress randomAddress(SplittableRandom random) throws IOException
    {
        int port = random.nextInt(10) == 0 ? 0 : random.nextInt(1, 65536);
        switch (random.nextInt(7))
        {
            case 0:
                return null;
            case 1:
            {
                byte[] v4 = new byte[4];
                random.nextBytes(v4);
                return new InetSocketAddress(InetAddress.getByAddress(v4), port);
            }
            case 2:
                return InetSocketAddress.createUnresolved(random.nextBoolean() ? "name.test" : "2001:db8::7", port);
            case 3:
                return UnixDomainSocketAddress.of("/run/adit.sock");
            default:
            {
                // IPv6 with runs of zero groups of every length, sometimes IPv4-mapped, sometimes scoped
                byte[] v6 = new byte[16];
                for (int g = 0; g < 8; g++)
                {
                    if (random.nextInt(3) != 0)
                    {
                        int value = random.nextInt(4) == 0 ? random.nextInt(16) : random.nextInt(0x10000);
                        v6[2 * g] = (byte)(value >>> 8);
                        v6[2 * g + 1] = (byte)value;
                    }
                }
                if (random.nextInt(6) == 0)
                {
                    java.util.Arrays.fill(v6, 0, 10, (byte)0);
                    v6[10] = (byte)0xff;
                    v6[11] = (byte)0xff;
                }
                return new InetSocketAddress(Inet6Address.getByAddress(null, v6, random.nextInt(4) == 0 ? 3 : -1), port);
            }
        }
    }

    /** The access log's line as it was printed before the formatter was reused. */
    static String reference(TunnelInfo tunnel, TunnelFailure outcome, Instant end) throws IOException
    {
        StringWriter out = new StringWriter(512);
        try (JsonGenerator json = JSON.createGenerator(out))
        {
            Instant start = tunnel.startTime();
            json.writeStartObject();
            json.writeStringField("start_time", START_TIME.format(start));
            json.writeNumberField("duration", Math.max(0, Duration.between(start, end).toMillis()));
            string(json, "protocol", tunnel.protocol());
            string(json, "authority", tunnel.authority());
            json.writeNumberField("response_code", tunnel.responseCode());
            json.writeStringField("response_flags", outcome.responseFlag());
            json.writeStringField("response_code_details", outcome.code());
            json.writeNumberField("bytes_received", tunnel.bytesFromDownstream());
            json.writeNumberField("bytes_sent", tunnel.bytesFromUpstream());
            string(json, "upstream_host", referenceAddress(tunnel.upstreamAddress()));
            string(json, "upstream_cluster", tunnel.upstreamCluster());
            string(json, "downstream_remote_address", referenceAddress(tunnel.downstreamRemoteAddress()));
            string(json, "downstream_local_address", referenceAddress(tunnel.downstreamLocalAddress()));
            string(json, "tunnel_id", tunnel.id());
            json.writeEndObject();
        }
        return out.toString();
    }

    private static void string(JsonGenerator json, String name, String value) throws IOException
    {
        if (value == null)
            json.writeNullField(name);
        else
            json.writeStringField(name, value);
    }

    private static String referenceAddress(SocketAddress address)
    {
        if (address == null)
            return null;
        if (!(address instanceof InetSocketAddress inet))
            return address.toString();
        InetAddress ip = inet.getAddress();
        if (ip != null && inet.getPort() > 0)
            return Authority.of(ip, inet.getPort()).toString();
        String host = inet.getHostString();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
}
