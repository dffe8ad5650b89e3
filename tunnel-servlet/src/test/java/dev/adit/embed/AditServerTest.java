package dev.adit.embed;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.adit.config.mp.ConfigBinder;
import dev.adit.log.AccessLog;
import dev.adit.log.AsyncLines;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AditServerTest
{
    /** @return the properties of one clear-text listener on a free port, with {@code more} */
    private static Map<String, String> properties(String... more)
    {
        Map<String, String> p = new HashMap<>();
        p.put("adit.http.port", "0");
        p.put("adit.https.enabled", "false");
        for (int i = 0; i < more.length; i += 2)
            p.put(more[i], more[i + 1]);
        return p;
    }

    /** Adds a proxy route to an HTTP/2 cluster {@code name}, so that there is an upstream HTTP/2 client. */
    private static void h2Route(Map<String, String> p, String name)
    {
        p.put("adit.route." + name + ".action", "proxy");
        p.put("adit.route." + name + ".cluster", name);
        p.put("adit.cluster." + name + ".endpoints", "127.0.0.1:1");
        p.put("adit.cluster." + name + ".protocol", "h2");
    }

    private static AditServer.Builder builder(Map<String, String> p)
    {
        return AditServer.builder(ConfigBinder.bind(new SmallRyeConfigBuilder()
            .withSources(new PropertiesConfigSource(p, "test", 500)).build()));
    }

    @Test
    void theSharedHttp2ClientKeepsTheConfiguredStreamIdleTimeoutWhateverThePoolsSay() throws Exception
    {
        Map<String, String> p = properties("adit.h2.stream-idle-timeout", "42s", "adit.routes", "a,b", "adit.route.a.match.authority", "a.test");
        h2Route(p, "a");
        h2Route(p, "b");
        p.put("adit.cluster.a.pool-idle-timeout", "1m");
        p.put("adit.cluster.b.pool-idle-timeout", "2m");
        Server server = builder(p).build();
        HTTP2Client client = server.getBean(HTTP2Client.class);
        assertThat(client).isNotNull();
        assertThat(client.getStreamIdleTimeout()).isEqualTo(42_000);
    }

    @Test
    void theListenersAndTheUpstreamClientAdvertiseTheConfiguredMaxFrameSize() throws Exception
    {
        Map<String, String> p = properties("adit.h2.max-frame-size", "128KiB", "adit.routes", "a", "adit.route.a.match.authority", "a.test");
        h2Route(p, "a");
        Server server = builder(p).build();
        HTTP2Client probe = new HTTP2Client();
        try
        {
            server.start();
            assertThat(server.getBean(HTTP2Client.class).getMaxFrameSize()).isEqualTo(128 * 1024);
            probe.start();
            CompletableFuture<Map<Integer, Integer>> settings = new CompletableFuture<>();
            int port = ((NetworkConnector)server.getConnectors()[0]).getLocalPort();
            probe.connect(new InetSocketAddress("127.0.0.1", port), new Session.Listener()
            {
                @Override
                public void onSettings(Session session, SettingsFrame frame)
                {
                    settings.complete(frame.getSettings());
                }
            }).get(10, TimeUnit.SECONDS);
            assertThat(settings.get(10, TimeUnit.SECONDS)).containsEntry(SettingsFrame.MAX_FRAME_SIZE, 128 * 1024);
        }
        finally
        {
            probe.stop();
            server.stop();
        }
    }

    @Test
    void theAccessLogsWriterThreadStartsAndStopsWithTheServer() throws Exception
    {
        Server server = builder(properties()).build();
        AccessLog accessLog = server.getBean(AccessLog.class);
        assertThat(accessLog).as("the access log is a bean of the server").isNotNull();
        AsyncLines writer = accessLog.getBean(AsyncLines.class);
        assertThat(writer).isNotNull();
        server.start();
        try
        {
            assertThat(accessLog.isRunning()).isTrue();
            assertThat(writer.isRunning()).isTrue();
        }
        finally
        {
            server.stop();
        }
        assertThat(writer.isStopped()).isTrue();
    }

    @Test
    void anAccessLogWithASinkOfTheCallersHasNoWriterThread() throws Exception
    {
        Server server = builder(properties()).accessLog(line -> {}).build();
        assertThat(server.getBean(AccessLog.class).getBean(AsyncLines.class)).isNull();
    }
}
