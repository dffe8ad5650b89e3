package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.adit.config.ProxyProtocol;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ProxyConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exact bytes of the PROXY protocol header, and a round trip of every form through Jetty's own
 * parser ({@link ProxyConnectionFactory}) to prove that a real receiver reads what we meant.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyProtocolHeaderTest
{
    private static final String SIGNATURE = "0d0a0d0a000d0a515549540a";

    private static final InetSocketAddress V4_SRC = address("192.0.2.10", 56324);
    private static final InetSocketAddress V4_DST = address("198.51.100.7", 443);
    private static final InetSocketAddress V6_SRC = address("2001:db8::1", 56324);
    private static final InetSocketAddress V6_DST = address("2001:db8:0:1:0:0:0:ff", 8443);

    private static Server server;
    private static ServerConnector connector;

    @BeforeAll
    static void startJettyWithProxyProtocol() throws Exception
    {
        server = new Server();
        connector = new ServerConnector(server, new ProxyConnectionFactory(HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory());
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract.NonBlocking()
        {
            @Override
            public boolean handle(Request request, Response response, Callback callback)
            {
                // What Jetty believes about the connection, after the PROXY header.
                String body = Request.getRemoteAddr(request) + " " + Request.getRemotePort(request) + " " +
                    Request.getLocalAddr(request) + " " + Request.getLocalPort(request);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.US_ASCII)), callback);
                return true;
            }
        });
        server.start();
    }

    @AfterAll
    static void stop() throws Exception
    {
        server.stop();
    }

    private static InetSocketAddress address(String literal, int port)
    {
        try
        {
            // A literal: no lookup happens.
            return new InetSocketAddress(InetAddress.getByName(literal), port);
        }
        catch (java.net.UnknownHostException x)
        {
            throw new IllegalArgumentException(x);
        }
    }

    private static String ascii(ByteBuffer buffer)
    {
        return StandardCharsets.US_ASCII.decode(buffer.duplicate()).toString();
    }

    private static String hex(ByteBuffer buffer)
    {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    // ---- version 1 ----

    @Test
    void v1OverIpv4NamesBothAddressesAndPorts()
    {
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V1, V4_SRC, V4_DST);
        assertThat(ascii(header)).isEqualTo("PROXY TCP4 192.0.2.10 198.51.100.7 56324 443\r\n");
        assertThat(header.position()).isZero();
    }

    @Test
    void v1OverIpv6UsesTheCompressedLowercaseForm()
    {
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V1, V6_SRC, V6_DST);
        assertThat(ascii(header)).isEqualTo("PROXY TCP6 2001:db8::1 2001:db8:0:1::ff 56324 8443\r\n");
    }

    @Test
    void v1WithMixedFamiliesIsUnknown()
    {
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, V4_SRC, V6_DST))).isEqualTo("PROXY UNKNOWN\r\n");
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, V6_SRC, V4_DST))).isEqualTo("PROXY UNKNOWN\r\n");
    }

    @Test
    void v1WithoutTwoIpAddressesIsUnknown()
    {
        SocketAddress unix = UnixDomainSocketAddress.of("/tmp/adit.sock");
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, null, V4_DST))).isEqualTo("PROXY UNKNOWN\r\n");
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, unix, V4_DST))).isEqualTo("PROXY UNKNOWN\r\n");
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, InetSocketAddress.createUnresolved("db.internal", 5432), V4_DST)))
            .isEqualTo("PROXY UNKNOWN\r\n");
    }

    static List<Arguments> ipv6Texts()
    {
        return List.of(
            Arguments.of("::", "::"),
            Arguments.of("::1", "::1"),
            Arguments.of("1::", "1::"),
            Arguments.of("2001:0DB8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"),
            Arguments.of("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            Arguments.of("fe80:0:0:0:abcd:0:0:0", "fe80::abcd:0:0:0"),
            Arguments.of("0:0:1:0:0:0:1:0", "0:0:1::1:0"));
    }

    @ParameterizedTest(name = "{0} is written as {1} (RFC 5952)")
    @MethodSource("ipv6Texts")
    void ipv6AddressesAreWrittenInRfc5952Form(String literal, String expected) throws Exception
    {
        assertThat(ProxyProtocolHeader.ipv6Text(InetAddress.getByName(literal).getAddress())).isEqualTo(expected);
    }

    @Test
    void v1DropsTheScopeIdOfALinkLocalAddress() throws Exception
    {
        InetSocketAddress scoped = new InetSocketAddress(java.net.Inet6Address.getByAddress(null, InetAddress.getByName("fe80::1").getAddress(), 3), 1000);
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V1, scoped, V6_DST);
        assertThat(ascii(header)).isEqualTo("PROXY TCP6 fe80::1 2001:db8:0:1::ff 1000 8443\r\n");
    }

    // ---- version 2 ----

    @Test
    void v2OverIpv4IsTheSignatureThenTcp4AndTwelveAddressBytes()
    {
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V2, V4_SRC, V4_DST);
        assertThat(hex(header)).isEqualTo(SIGNATURE +
            "21" + "11" + "000c" +
            "c000020a" + "c6336407" +
            "dc04" + "01bb");
        assertThat(header.remaining()).isEqualTo(28);
    }

    @Test
    void v2OverIpv6IsTcp6WithThirtySixAddressBytes()
    {
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V2, V6_SRC, V6_DST);
        assertThat(hex(header)).isEqualTo(SIGNATURE +
            "21" + "21" + "0024" +
            "20010db8000000000000000000000001" + "20010db80000000100000000000000ff" +
            "dc04" + "20fb");
        assertThat(header.remaining()).isEqualTo(52);
    }

    @Test
    void v2WithMixedFamiliesMapsTheIpv4AddressIntoIpv6()
    {
        ByteBuffer header = ProxyProtocolHeader.encode(ProxyProtocol.V2, V4_SRC, V6_DST);
        assertThat(hex(header)).isEqualTo(SIGNATURE +
            "21" + "21" + "0024" +
            "00000000000000000000ffffc000020a" + "20010db80000000100000000000000ff" +
            "dc04" + "20fb");
    }

    @Test
    void v2WithoutTwoIpAddressesIsALocalCommand()
    {
        String local = SIGNATURE + "20" + "00" + "0000";
        assertThat(hex(ProxyProtocolHeader.encode(ProxyProtocol.V2, null, null))).isEqualTo(local);
        assertThat(hex(ProxyProtocolHeader.encode(ProxyProtocol.V2, V4_SRC, UnixDomainSocketAddress.of("/tmp/adit.sock")))).isEqualTo(local);
        assertThat(hex(ProxyProtocolHeader.encode(ProxyProtocol.V2, InetSocketAddress.createUnresolved("db.internal", 1), V4_DST))).isEqualTo(local);
    }

    @Test
    void noneIsAnEmptyBuffer()
    {
        assertThat(ProxyProtocolHeader.encode(ProxyProtocol.NONE, V4_SRC, V4_DST).remaining()).isZero();
    }

    @Test
    void everyCallReturnsABufferOfItsOwn()
    {
        ByteBuffer first = ProxyProtocolHeader.encode(ProxyProtocol.V1, null, null);
        first.put(0, (byte)'X');
        assertThat(ascii(ProxyProtocolHeader.encode(ProxyProtocol.V1, null, null))).isEqualTo("PROXY UNKNOWN\r\n");
    }

    // ---- interoperability with Jetty's parser ----

    static List<Arguments> roundTrips()
    {
        return List.of(
            Arguments.of(ProxyProtocol.V1, V4_SRC, V4_DST, V4_SRC, V4_DST),
            Arguments.of(ProxyProtocol.V1, V6_SRC, V6_DST, V6_SRC, V6_DST),
            Arguments.of(ProxyProtocol.V1, V4_SRC, V6_DST, null, null),
            Arguments.of(ProxyProtocol.V2, V4_SRC, V4_DST, V4_SRC, V4_DST),
            Arguments.of(ProxyProtocol.V2, V6_SRC, V6_DST, V6_SRC, V6_DST),
            // Jetty turns the mapped address back into IPv4 (InetAddress.getByAddress does).
            Arguments.of(ProxyProtocol.V2, V4_SRC, V6_DST, V4_SRC, V6_DST),
            Arguments.of(ProxyProtocol.V2, null, V4_DST, null, null));
    }

    /**
     * @param expectedRemote what Jetty should report as the client, or null for "the real
     *                       connection" (UNKNOWN / LOCAL)
     */
    @ParameterizedTest(name = "{0} from {1} to {2} is read back by Jetty''s ProxyConnectionFactory")
    @MethodSource("roundTrips")
    void jettysParserReadsTheHeaderBack(ProxyProtocol version, InetSocketAddress source, InetSocketAddress destination,
                                        InetSocketAddress expectedRemote, InetSocketAddress expectedLocal) throws Exception
    {
        ByteBuffer header = ProxyProtocolHeader.encode(version, source, destination);
        try (Socket socket = new Socket())
        {
            socket.setSoTimeout(10_000);
            socket.connect(new InetSocketAddress("127.0.0.1", connector.getLocalPort()), 10_000);
            OutputStream out = socket.getOutputStream();
            byte[] bytes = new byte[header.remaining()];
            header.get(bytes);
            out.write(bytes);
            out.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();

            String response = readAll(socket.getInputStream());
            assertThat(response).startsWith("HTTP/1.1 200 ");
            String[] seen = response.substring(response.indexOf("\r\n\r\n") + 4).split(" ");
            InetSocketAddress remote = address(unbracket(seen[0]), Integer.parseInt(seen[1]));
            InetSocketAddress local = address(unbracket(seen[2]), Integer.parseInt(seen[3]));
            assertThat(remote).isEqualTo(expectedRemote == null ? socket.getLocalSocketAddress() : expectedRemote);
            assertThat(local).isEqualTo(expectedLocal == null ? socket.getRemoteSocketAddress() : expectedLocal);
        }
    }

    private static String unbracket(String host)
    {
        return host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    }

    private static String readAll(InputStream in) throws Exception
    {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) >= 0; )
            all.write(buffer, 0, n);
        return all.toString(StandardCharsets.US_ASCII);
    }
}
