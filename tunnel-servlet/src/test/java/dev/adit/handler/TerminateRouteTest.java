package dev.adit.handler;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code terminate} action through routes: a static cluster that ignores the target, the
 * PROXY protocol header in front of the payload, and POST tunnels.
 */
class TerminateRouteTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private AditFixture adit;
    private TcpTarget target;

    @AfterEach
    void stop() throws Exception
    {
        if (adit != null)
        {
            adit.assertQuiescentWithoutLeaks();
            adit.close();
        }
        if (target != null)
            target.close();
    }

    /** Reads a PROXY header (v1 line or v2 block), hands it to the test, then echoes. */
    private static TcpTarget.Behaviour proxyHeaderThenEcho(BlockingQueue<byte[]> headers)
    {
        return peer ->
        {
            InputStream in = peer.in();
            int first = in.read();
            byte[] header;
            if (first == 'P')
            {
                StringBuilder line = new StringBuilder("P");
                int c;
                while ((c = in.read()) >= 0 && c != '\n')
                    line.append((char)c);
                header = (line + "\n").getBytes(StandardCharsets.US_ASCII);
            }
            else
            {
                byte[] fixed = new byte[16];
                fixed[0] = (byte)first;
                new DataInputStream(in).readFully(fixed, 1, 15);
                int length = ((fixed[14] & 0xFF) << 8) | (fixed[15] & 0xFF);
                header = new byte[16 + length];
                System.arraycopy(fixed, 0, header, 0, 16);
                new DataInputStream(in).readFully(header, 16, length);
            }
            headers.add(header);
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) >= 0; )
            {
                peer.record(buf, n);
                peer.write(buf, 0, n);
            }
            peer.doneReading();
            peer.socket().shutdownOutput();
        };
    }

    private Map<String, String> proxyProtocolRoutes()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "v1,v2");
        p.put("adit.route.v1.match.authority", "v1.test");
        p.put("adit.route.v1.cluster", "target");
        p.put("adit.route.v1.proxy-protocol", "v1");
        p.put("adit.route.v2.match.authority", "v2.test");
        p.put("adit.route.v2.cluster", "target");
        p.put("adit.cluster.target.endpoints", target.authority());
        // v2 from the cluster, v1 overridden by its route.
        p.put("adit.cluster.target.proxy-protocol", "v2");
        return p;
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Transport.class)
    void theProxyProtocolHeaderComesBeforeThePayload(Transport transport) throws Exception
    {
        BlockingQueue<byte[]> headers = new LinkedBlockingQueue<>();
        target = new TcpTarget(proxyHeaderThenEcho(headers));
        adit = AditFixture.start(proxyProtocolRoutes());
        int aditPort = adit.address(transport).getPort();
        try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            byte[] payload = Payloads.random(100_000);
            echo(client, "v1.test:443", payload);
            String v1 = new String(headers.poll(10, TimeUnit.SECONDS), StandardCharsets.US_ASCII);
            // PROXY TCP4 <client ip> <adit ip> <client port> <adit port>\r\n
            assertThat(v1).matches("PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ " + aditPort + "\r\n");
            assertThat(Integer.parseInt(v1.split(" ")[4])).isPositive().isNotEqualTo(aditPort);

            echo(client, "v2.test:443", payload);
            ByteBuffer v2 = ByteBuffer.wrap(headers.poll(10, TimeUnit.SECONDS));
            byte[] signature = new byte[12];
            v2.get(signature);
            assertThat(signature).isEqualTo(V2_SIGNATURE);
            assertThat(v2.get()).isEqualTo((byte)0x21); // version 2, PROXY
            assertThat(v2.get()).isEqualTo((byte)0x11); // TCP over IPv4
            assertThat(v2.getShort()).isEqualTo((short)12);
            assertThat(v2.getInt()).isEqualTo(0x7F000001); // source 127.0.0.1
            assertThat(v2.getInt()).isEqualTo(0x7F000001); // destination 127.0.0.1
            assertThat(v2.getShort() & 0xFFFF).isPositive().isNotEqualTo(aditPort);
            assertThat(v2.getShort() & 0xFFFF).isEqualTo(aditPort);
            assertThat(v2.hasRemaining()).isFalse();
        }
        // The target saw the payload (after the header) exactly, twice.
        assertThat(target.received(0).get(10, TimeUnit.SECONDS).sha256()).isEqualTo(target.received(1).get(10, TimeUnit.SECONDS).sha256());
    }

    private static void echo(TunnelClient client, String authority, byte[] payload) throws Exception
    {
        try (Tunnel tunnel = client.open(authority, TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(200);
            tunnel.write(payload);
            tunnel.shutdownOutput();
            Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
            assertThat(echoed.count()).isEqualTo(payload.length);
            assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
        }
    }

    private Map<String, String> postRoutes()
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "post");
        p.put("adit.route.post.allow-post", "true");
        p.put("adit.route.post.match.path-prefix", "/");
        p.put("adit.route.post.cluster", "echo");
        p.put("adit.cluster.echo.endpoints", target.authority());
        return p;
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 65536, 8 * 1024 * 1024})
    void postTunnelsAreByteExactOverHttp1AndH2c(int size) throws Exception
    {
        target = new TcpTarget(TcpTarget.echo());
        adit = AditFixture.start(postRoutes());
        byte[] payload = Payloads.random(size);
        try (Tunnel tunnel = Http1PostTunnel.open(adit.address(Transport.HTTP1), "ignored.test:1", TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(200);
            assertThat(tunnel.header("transfer-encoding")).isEqualTo("chunked");
            exchange(tunnel, payload);
        }
        try (Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, adit.address(Transport.H2C),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW))
        {
            MetaData.Request post = new MetaData.Request(HttpMethod.POST.asString(), HttpURI.build("http://adit.test/upload"), HttpVersion.HTTP_2,
                HttpFields.build().add("content-type", "application/octet-stream"));
            try (Tunnel tunnel = client.open(post, null, TIMEOUT))
            {
                assertThat(tunnel.status()).isEqualTo(200);
                assertThat(tunnel.header("content-length")).isNull();
                exchange(tunnel, payload);
            }
        }
        assertThat(target.accepted()).isEqualTo(2);
    }

    @Test
    void aPostNoRouteTakesGoesToTheNextHandler() throws Exception
    {
        target = new TcpTarget(TcpTarget.echo());
        Map<String, String> p = postRoutes();
        p.put("adit.route.post.match.path-prefix", "/tunnel/");
        adit = AditFixture.start(p);
        try (Tunnel tunnel = Http1PostTunnel.open(adit.address(Transport.HTTP1), "ignored.test:1", TIMEOUT))
        {
            assertThat(tunnel.status()).isEqualTo(404);
        }
        assertThat(target.accepted()).isZero();
    }

    private static void exchange(Tunnel tunnel, byte[] payload) throws Exception
    {
        tunnel.write(payload);
        tunnel.shutdownOutput();
        Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
        assertThat(echoed.count()).isEqualTo(payload.length);
        assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
    }

    @Test
    void aStaticClusterIgnoresTheTarget() throws Exception
    {
        target = new TcpTarget(TcpTarget.echo());
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "gateway");
        p.put("adit.route.gateway.cluster", "backend");
        p.put("adit.cluster.backend.endpoints", target.authority());
        p.put("adit.policy.deny", "127.0.0.66");
        adit = AditFixture.start(p);
        for (Transport transport : List.of(Transport.HTTP1, Transport.H2))
        {
            try (TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
            {
                // Neither exists; both reach the backend. Even the policy's denied address does:
                // the operator chose the backend, the client's target is only a label.
                echo(client, "nowhere.invalid:1", Payloads.random(1000));
                echo(client, "127.0.0.66:443", Payloads.random(1000));
            }
        }
    }
}
