package dev.adit.handler;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code proxy} action: a front Adit forwards CONNECT to an upstream (a back Adit, or a
 * scripted Jetty server) over HTTP/1.1 or pooled HTTP/2, relays refusals as they came and
 * carries the bytes after a 2xx.
 */
class ProxyRouteTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    private static Map<String, String> front(InetSocketAddress upstream, String protocol)
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.routes", "all");
        p.put("adit.route.all.action", "proxy");
        p.put("adit.route.all.cluster", "up");
        p.put("adit.route.all.request-headers-to-add", "x-added: by-front");
        p.put("adit.route.all.request-headers-to-remove", "x-secret");
        p.put("adit.cluster.up.endpoints", "127.0.0.1:" + upstream.getPort());
        p.put("adit.cluster.up.protocol", protocol);
        return p;
    }

    @ParameterizedTest(name = "upstream over {0}")
    @CsvSource({"http1", "h2"})
    void aChainCarriesBytesExactlyOverEveryTransport(String protocol) throws Exception
    {
        TcpTarget echo = new TcpTarget(TcpTarget.echo());
        started.add(echo);
        AditFixture back = started.adit(Map.of());
        AditFixture front = started.adit(front(back.address(Transport.H2C), protocol));
        for (Transport transport : Transport.values())
        {
            try (TunnelClient client = TunnelClient.connect(transport, front.address(transport)))
            {
                for (int size : new int[]{0, 1, 65536, 4 * 1024 * 1024})
                {
                    byte[] payload = Payloads.random(size);
                    try (Tunnel tunnel = client.open(echo.authority(), TIMEOUT))
                    {
                        assertThat(tunnel.status()).as("%s %d", transport, size).isEqualTo(200);
                        assertThat(tunnel.header("content-length")).isNull();
                        tunnel.write(payload);
                        tunnel.shutdownOutput();
                        Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
                        assertThat(echoed.count()).as("%s %d", transport, size).isEqualTo(size);
                        assertThat(echoed.sha256()).isEqualTo(Payloads.sha256(payload));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "upstream over {0}")
    @CsvSource({"http1", "h2"})
    void anUpstreamRefusalIsRelayedWithItsHeadersAndBody(String protocol) throws Exception
    {
        ScriptedUpstream upstream = new ScriptedUpstream();
        started.add(upstream);
        AditFixture front = started.adit(front(upstream.address(), protocol));
        for (Transport transport : Transport.values())
        {
            try (TunnelClient client = TunnelClient.connect(transport, front.address(transport)))
            {
                try (Tunnel tunnel = client.open("auth.test:443", Map.of("x-secret", "s3cret", "foo", "bar"), TIMEOUT))
                {
                    assertThat(tunnel.status()).as("%s", transport).isEqualTo(407);
                    assertThat(tunnel.header("proxy-authenticate")).isEqualTo("Basic realm=\"upstream\"");
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).isEqualTo("credentials, please\n");
                }
                try (Tunnel tunnel = client.open("forbidden.test:443", TIMEOUT))
                {
                    assertThat(tunnel.status()).as("%s", transport).isEqualTo(403);
                    assertThat(tunnel.header("x-reason")).isEqualTo("policy");
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).isEqualTo("not there\n");
                }
                try (Tunnel tunnel = client.open("busy.test:443", TIMEOUT))
                {
                    assertThat(tunnel.status()).as("%s", transport).isEqualTo(503);
                    assertThat(tunnel.header("retry-after")).isEqualTo("7");
                    assertThat(new String(tunnel.responseBody(), StandardCharsets.UTF_8)).isEqualTo("too busy\n");
                }
            }
        }
        // The forwarded CONNECT kept the end-to-end header, lost the removed one, gained the added one.
        Map<String, String> seen = upstream.headersOf("auth.test:443");
        assertThat(seen).containsEntry("foo", "bar").containsEntry("x-added", "by-front").doesNotContainKey("x-secret");
    }

    @Test
    void fiveHundredConcurrentTunnelsShareFewPooledHttp2Connections() throws Exception
    {
        int tunnels = 500;
        int maxStreams = 100;
        TcpTarget echo = new TcpTarget(TcpTarget.echo());
        started.add(echo);
        AditFixture back = started.adit(Map.of("adit.tunnel.connect-timeout", "20s"));
        Set<SocketAddress> backConnections = ConcurrentHashMap.newKeySet();
        for (var connector : back.server.getConnectors())
        {
            connector.addBean(new Connection.Listener()
            {
                @Override
                public void onOpened(Connection connection)
                {
                    backConnections.add(connection.getEndPoint().getRemoteSocketAddress());
                }
            });
        }
        Map<String, String> p = front(back.address(Transport.H2C), "h2");
        p.put("adit.cluster.up.max-streams-per-connection", Integer.toString(maxStreams));
        // 500 connects at once on a loaded 2-core machine: the 1 s test default is too tight.
        p.put("adit.cluster.up.connect-timeout", "20s");
        p.put("adit.tunnel.connect-timeout", "20s");
        AditFixture front = started.adit(p);

        ExecutorService threads = Executors.newFixedThreadPool(32);
        try (TunnelClient client = TunnelClient.connect(Transport.H2C, front.address(Transport.H2C)))
        {
            // Open all of them first, so that all are concurrent, then move bytes on each.
            List<Future<Tunnel>> opening = new ArrayList<>();
            for (int i = 0; i < tunnels; i++)
                opening.add(threads.submit(() -> client.open(echo.authority(), TIMEOUT)));
            List<Tunnel> open = new ArrayList<>();
            for (Future<Tunnel> f : opening)
                open.add(f.get(60, TimeUnit.SECONDS));
            for (Tunnel tunnel : open)
                assertThat(tunnel.status()).as("%s", tunnel).isEqualTo(200);
            List<Future<Boolean>> exchanges = new ArrayList<>();
            for (Tunnel tunnel : open)
            {
                exchanges.add(threads.submit(() ->
                {
                    byte[] payload = Payloads.random(16 * 1024 + (int)(Math.random() * 16 * 1024));
                    tunnel.write(payload);
                    tunnel.shutdownOutput();
                    Tunnel.ReadResult echoed = tunnel.readToEnd(TIMEOUT);
                    tunnel.close();
                    return echoed.count() == payload.length && echoed.sha256().equals(Payloads.sha256(payload));
                }));
            }
            for (Future<Boolean> f : exchanges)
                assertThat(f.get(60, TimeUnit.SECONDS)).isTrue();
        }
        finally
        {
            threads.shutdownNow();
        }
        assertThat(backConnections).as("connections the back accepted").isNotEmpty().hasSizeLessThanOrEqualTo((tunnels + maxStreams - 1) / maxStreams);
    }

    /**
     * A Jetty server speaking HTTP/1.1 and h2c that answers CONNECT by target: 407, 403 and 503
     * with headers and bodies, and records the headers it received.
     */
    private static final class ScriptedUpstream implements AutoCloseable
    {
        private final Server server = new Server();
        private final ServerConnector connector;
        private final Map<String, Map<String, String>> headers = new ConcurrentHashMap<>();

        private ScriptedUpstream() throws Exception
        {
            HttpConfiguration http = new HttpConfiguration();
            connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
            connector.setHost("127.0.0.1");
            server.addConnector(connector);
            server.setHandler(new Handler.Abstract()
            {
                @Override
                public boolean handle(Request request, Response response, Callback callback)
                {
                    String target = request.getHttpURI().getHost() + ":" + request.getHttpURI().getPort();
                    Map<String, String> seen = new HashMap<>();
                    request.getHeaders().forEach(f -> seen.put(f.getLowerCaseName(), f.getValue()));
                    headers.put(target, seen);
                    String body;
                    if (target.startsWith("auth."))
                    {
                        response.setStatus(407);
                        response.getHeaders().put(HttpHeader.PROXY_AUTHENTICATE, "Basic realm=\"upstream\"");
                        body = "credentials, please\n";
                    }
                    else if (target.startsWith("forbidden."))
                    {
                        response.setStatus(403);
                        response.getHeaders().put("X-Reason", "policy");
                        body = "not there\n";
                    }
                    else
                    {
                        response.setStatus(503);
                        response.getHeaders().put(HttpHeader.RETRY_AFTER, "7");
                        body = "too busy\n";
                    }
                    response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
                    return true;
                }
            });
            server.start();
        }

        InetSocketAddress address()
        {
            return new InetSocketAddress("127.0.0.1", connector.getLocalPort());
        }

        Map<String, String> headersOf(String target)
        {
            return headers.get(target);
        }

        @Override
        public void close() throws Exception
        {
            server.stop();
        }
    }
}
