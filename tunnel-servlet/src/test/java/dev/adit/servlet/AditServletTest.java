package dev.adit.servlet;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.adit.handler.ConnectPathHandler;
import dev.adit.handler.Http1PostTunnel;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.Quiescence;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelResetException;
import dev.adit.testing.TunnelClient;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import jakarta.servlet.ServletException;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link AditServlet} in an embedded Jetty ee10 servlet context on loopback port 0, behind a
 * {@link ConnectPathHandler} and stock Jetty connectors (HTTP/1.1 and h2c), as in a webapp:
 * CONNECT over HTTP/1.1 and h2c (plain and extended) through Jetty's core request, POST tunnels
 * through the Servlet API, each echoed byte-exact by a TCP target. Each test ends with every
 * tunnel in the access log and no pooled buffer leaked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AditServletTest
{
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
    private final LinkedBlockingQueue<String> accessLog = new LinkedBlockingQueue<>();
    private final List<String> accessLines = new ArrayList<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private int tunnels;
    private Server server;
    private TcpTarget echo;

    @AfterEach
    void closeAndCheckLeaks() throws Exception
    {
        for (int i = toClose.size() - 1; i >= 0; i--)
            toClose.get(i).close();
        if (server != null)
        {
            // Every tunnel writes one access log line when it ends, its buffers released by then.
            Quiescence.assertNoOpenTunnelsNorLeaks(pool, () -> tunnels - accessLines.size(), millis ->
            {
                String line = accessLog.poll(millis, TimeUnit.MILLISECONDS);
                if (line != null)
                    accessLines.add(line);
            }, WAIT);
            server.stop();
        }
        if (echo != null)
            echo.close();
    }

    private InetSocketAddress start(Map<String, String> properties) throws Exception
    {
        return start(properties, "/", "/");
    }

    /**
     * @param contextPath where the servlet's context is deployed
     * @param connectPath the path {@link ConnectPathHandler} gives plain CONNECT requests; null for no such handler
     */
    private InetSocketAddress start(Map<String, String> properties, String contextPath, String connectPath) throws Exception
    {
        echo = new TcpTarget(TcpTarget.echo());
        Map<String, String> all = new HashMap<>(Map.of(
            "adit.policy.allow", "127.0.0.1",
            "adit.routes", "post,default",
            "adit.route.post.allow-post", "true",
            "adit.route.post.match.header.x-adit-target.present", "true",
            "adit.route.post.cluster", "echo",
            "adit.cluster.echo.endpoints", echo.authority(),
            "adit.route.default.match.connect", "any",
            "adit.route.default.upgrade-enabled", "true"));
        all.putAll(properties);
        Config config = new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(all, "test", 500)).build();

        server = new Server(null, null, pool);
        HttpConfiguration http = new HttpConfiguration();
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler(contextPath);
        ServletHolder holder = new ServletHolder("adit", new AditServlet(config, accessLog::add));
        holder.setInitOrder(1);
        holder.setAsyncSupported(true);
        context.addServlet(holder, "/");
        if (connectPath == null)
        {
            server.setHandler(context);
        }
        else
        {
            ConnectPathHandler paths = new ConnectPathHandler(context);
            paths.setPath(connectPath);
            server.setHandler(paths);
        }
        server.start();
        return new InetSocketAddress("127.0.0.1", connector.getLocalPort());
    }

    /** The next access log line, within {@link #WAIT}. */
    private String awaitAccessLine() throws InterruptedException
    {
        String line = accessLog.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(line).as("an access log line within " + WAIT).isNotNull();
        accessLines.add(line);
        return line;
    }

    private Tunnel openH2cPost(InetSocketAddress address) throws Exception
    {
        Http2TunnelClient client = closing(TunnelClient.connectH2(Transport.H2C, address,
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
        HttpFields fields = HttpFields.build().add(Http1PostTunnel.TARGET_HEADER, "ignored:1");
        Tunnel tunnel = closing(client.open(new MetaData.Request(HttpMethod.POST.asString(), HttpURI.build("http://adit.test/post"),
            HttpVersion.HTTP_2, fields), null, WAIT));
        tunnels++;
        assertThat(tunnel.status()).isEqualTo(200);
        return tunnel;
    }

    private <T extends AutoCloseable> T closing(T closeable)
    {
        toClose.add(closeable);
        return closeable;
    }

    /** Sends {@code size} random bytes, half-closes, and checks the echo by digest. */
    private void echoes(Tunnel tunnel, int size) throws Exception
    {
        byte[] payload = Payloads.random(size);
        tunnel.write(payload);
        tunnel.shutdownOutput();
        Tunnel.ReadResult echoed = tunnel.readToEnd(WAIT);
        assertThat(echoed.count()).as(Payloads.seedNote()).isEqualTo(size);
        assertThat(echoed.sha256()).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
    }

    @ParameterizedTest(name = "a plain CONNECT over {0} reaches the servlet and echoes byte-exact")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aPlainConnectReachesTheServletAndEchoes(Transport transport) throws Exception
    {
        InetSocketAddress address = start(Map.of());
        TunnelClient client = closing(TunnelClient.connect(transport, address));
        Tunnel tunnel = closing(client.open(echo.authority(), WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(200);
        assertThat(tunnel.header("content-length")).isNull();
        echoes(tunnel, 1 << 20);
    }

    @Test
    void withoutTheConnectPathHandlerAPlainH2cConnectFindsNoContext() throws Exception
    {
        InetSocketAddress address = start(Map.of(), "/", null);
        TunnelClient client = closing(TunnelClient.connect(Transport.H2C, address));
        Tunnel tunnel = closing(client.open(echo.authority(), WAIT));

        // Jetty 12.1: no :path, no context; the reason ConnectPathHandler exists.
        assertThat(tunnel.status()).isEqualTo(404);
    }

    @ParameterizedTest(name = "a plain CONNECT over {0} reaches a webapp outside the root context by the handler's path")
    @EnumSource(value = Transport.class, names = {"HTTP1", "H2C"})
    void aPlainConnectReachesAWebappOutsideTheRootContext(Transport transport) throws Exception
    {
        InetSocketAddress address = start(Map.of(), "/tunnels", "/tunnels/");
        TunnelClient client = closing(TunnelClient.connect(transport, address));
        Tunnel tunnel = closing(client.open(echo.authority(), WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(200);
        echoes(tunnel, 64 * 1024);
    }

    @Test
    void anExtendedConnectOverH2cReachesTheServletByItsPath() throws Exception
    {
        InetSocketAddress address = start(Map.of());
        Http2TunnelClient client = closing(TunnelClient.connectH2(Transport.H2C, address,
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
        Tunnel tunnel = closing(client.openExtended(echo.authority(), "/tunnel", "websocket", Map.of(), WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(200);
        echoes(tunnel, 1 << 20);
    }

    @Test
    void aConnectToADeniedDestinationIsRefusedWith403AndLogged() throws Exception
    {
        InetSocketAddress address = start(Map.of());
        TunnelClient client = closing(TunnelClient.connect(Transport.H2C, address));
        Tunnel tunnel = closing(client.open("127.0.0.2:" + echo.port(), WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(403);
        assertThat(new String(tunnel.responseBody())).startsWith("denied:");
    }

    @Test
    void aPostTunnelOverHttp1IsChunkedBothWaysAndEchoes() throws Exception
    {
        InetSocketAddress address = start(Map.of());
        Tunnel tunnel = closing(Http1PostTunnel.open(address, "ignored:1", WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(200);
        assertThat(tunnel.header("content-type")).isEqualTo("application/octet-stream");
        assertThat(tunnel.header("transfer-encoding")).isEqualTo("chunked");
        assertThat(tunnel.header("content-length")).isNull();
        echoes(tunnel, 1 << 20);
    }

    @Test
    void aPostTunnelOverH2cIsFullDuplex() throws Exception
    {
        Tunnel tunnel = openH2cPost(start(Map.of()));

        // Each chunk comes back before the request ends: the tunnel is full duplex.
        for (int i = 0; i < 4; i++)
        {
            byte[] chunk = Payloads.random(64 * 1024);
            tunnel.write(chunk);
            assertThat(Payloads.sha256(tunnel.readExactly(chunk.length, WAIT))).isEqualTo(Payloads.sha256(chunk));
        }
        echoes(tunnel, 256 * 1024);
    }

    @Test
    void aClientResetEndsAPostTunnelAndItsTargetConnection() throws Exception
    {
        Tunnel tunnel = openH2cPost(start(Map.of()));
        byte[] chunk = Payloads.random(4096);
        tunnel.write(chunk);
        assertThat(tunnel.readExactly(chunk.length, WAIT)).isEqualTo(chunk);

        tunnel.reset();

        assertThat(awaitAccessLine()).contains("\"response_code_details\":\"downstream_reset\"");
        // The reset reaches the target as a TCP reset, not as a clean end.
        assertThat(echo.received(0)).failsWithin(WAIT)
            .withThrowableOfType(ExecutionException.class)
            .havingCause().isInstanceOf(SocketException.class).withMessageContaining("reset");
    }

    @Test
    void aQuietPostTunnelEndsAtTheTunnelIdleTimeoutAsAFailureNotACleanEnd() throws Exception
    {
        InetSocketAddress address = start(Map.of("adit.tunnel.idle-timeout", "300ms"));
        Tunnel tunnel = closing(Http1PostTunnel.open(address, "ignored:1", WAIT));
        tunnels++;
        byte[] chunk = Payloads.random(4096);
        tunnel.write(chunk);
        assertThat(tunnel.readExactly(chunk.length, WAIT)).isEqualTo(chunk);

        assertThat(awaitAccessLine()).contains("\"response_code_details\":\"idle_timeout\"");
        // No terminating chunk: the connection closes mid-body, which the client sees as a reset.
        assertThatThrownBy(() -> tunnel.read(new byte[16], WAIT)).isInstanceOf(TunnelResetException.class);
    }

    @Test
    void aPostTunnelToAClosedPortIsAnsweredWith502() throws Exception
    {
        int closedPort;
        try (TcpTarget gone = new TcpTarget(TcpTarget.echo()))
        {
            closedPort = gone.port();
        }
        InetSocketAddress address = start(Map.of("adit.cluster.echo.endpoints", "127.0.0.1:" + closedPort));
        Tunnel tunnel = closing(Http1PostTunnel.open(address, "ignored:1", WAIT));
        tunnels++;

        assertThat(tunnel.status()).isEqualTo(502);
        assertThat(tunnel.header("connection")).isEqualTo("close");
        // This client hands a refusal's body out as tunnel bytes.
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] buffer = new byte[1024];
        for (int r; (r = tunnel.read(buffer, WAIT)) >= 0; )
            body.write(buffer, 0, r);
        assertThat(body.toString(StandardCharsets.UTF_8)).startsWith("connect_failed: connect to 127.0.0.1:" + closedPort);
    }

    @Test
    void anInvalidValueFailsTheServletNamingTheKey()
    {
        Config config = new SmallRyeConfigBuilder()
            .withSources(new PropertiesConfigSource(Map.of("adit.tunnel.idle-timeout", "soon"), "test", 500)).build();

        assertThatThrownBy(() -> new AditServlet(config).init())
            .isInstanceOf(ServletException.class)
            .hasMessageContaining("adit.tunnel.idle-timeout: soon (expected: a duration");
    }

    @Test
    void encapsulatingListenersAreRefusedInAWebapp()
    {
        Config config = new SmallRyeConfigBuilder().withSources(new PropertiesConfigSource(Map.of(
            "adit.encaps", "hbone",
            "adit.encap.hbone.port", "0",
            "adit.encap.hbone.cluster", "up",
            "adit.encap.hbone.hostname", "%DOWNSTREAM_LOCAL_ADDRESS%",
            "adit.cluster.up.endpoints", "127.0.0.1:1"), "test", 500)).build();

        assertThatThrownBy(() -> new AditServlet(config).init())
            .isInstanceOf(ServletException.class)
            .hasMessageContaining("adit.encaps: hbone (expected: unset in a webapp");
    }
}
