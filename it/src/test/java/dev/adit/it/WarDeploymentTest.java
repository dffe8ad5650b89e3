package dev.adit.it;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.sun.net.httpserver.HttpServer;
import dev.adit.testing.Http2Tunnel;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample WAR ({@code war-sample}) deployed as {@code webapps/ROOT.war} in a fresh base of
 * the real jetty-home, once in the ee10 environment and once in ee11
 * ({@code webapps/ROOT.properties}), with the {@code adit-connect-path} module installed from
 * Adit's jetty-base archive, Jetty started as its own process. Clients nobody here wrote talk to it through Jetty's stock connector (HTTP/1.1 and
 * h2c): curl for HTTP/1.1 CONNECT and POST, python3-h2 for plain and extended CONNECT and POST
 * over h2c; every payload is random and checked by digest against a local echo target.
 */
@Timeout(600)
class WarDeploymentTest
{
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(30);
    private static final int SIZE = 1 << 20;
    private static final Map<String, JettyBase.Server> DEPLOYED = new ConcurrentHashMap<>();

    @TempDir
    static Path bases;

    private static TcpTarget echo;
    private static HttpServer web;
    private static byte[] download;

    @BeforeAll
    static void startTargets() throws Exception
    {
        echo = new TcpTarget(TcpTarget.echo());
        download = Payloads.random(SIZE);
        web = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        web.createContext("/", exchange ->
        {
            exchange.sendResponseHeaders(200, download.length);
            exchange.getResponseBody().write(download);
            exchange.close();
        });
        web.start();
    }

    @AfterAll
    static void stop() throws Exception
    {
        for (JettyBase.Server server : DEPLOYED.values())
            server.close();
        if (echo != null)
            echo.close();
        if (web != null)
            web.stop(0);
    }

    private static Path war()
    {
        Path path = Path.of(System.getProperty("test.adit.war", "../war-sample/target/adit-sample.war")).toAbsolutePath().normalize();
        if (!Files.exists(path))
            throw new IllegalStateException(path + " is missing: build with 'mvn verify' from the top");
        return path;
    }

    /**
     * A base with {@code http,http2c,<environment>-deploy} and the {@code adit-connect-path}
     * module, installed from Adit's archive as the README says, and the WAR as the root webapp.
     */
    private static JettyBase deploy(String environment, Path base) throws Exception
    {
        JettyBase jetty = JettyBase.install(base, "http,http2c," + environment + "-deploy,adit-connect-path");
        Path webapps = Files.createDirectories(base.resolve("webapps"));
        Files.copy(war(), webapps.resolve("ROOT.war"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(webapps.resolve("ROOT.properties"), "environment=" + environment + "\n");
        return jetty;
    }

    /** The WAR's Jetty for {@code environment}, started on first use and kept for the class. */
    private static JettyBase.Server deployed(String environment) throws Exception
    {
        JettyBase.Server running = DEPLOYED.get(environment);
        if (running != null)
            return running;
        JettyBase jetty = deploy(environment, bases.resolve(environment));
        JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0").awaitStarted();
        DEPLOYED.put(environment, server);
        assertThat(server.output()).as(server.output())
            .contains("Adit servlet adit serving 2 routes through Jetty's " + environment + " core request")
            .doesNotContain("Failed startup");
        return server;
    }

    private static List<String> python(int port, String... extra)
    {
        List<String> command = new ArrayList<>(List.of("/usr/bin/python3", "src/test/resources/h2_connect_echo.py",
            "127.0.0.1", Integer.toString(port), "h2c", echo.authority(), "3", Integer.toString(SIZE), Long.toString(Payloads.seed())));
        command.addAll(List.of(extra));
        return command;
    }

    private static void assertAllStreamsEchoed(Commands.Result python, JettyBase.Server server)
    {
        assertThat(python.exitCode()).as(python.output() + "\nJetty:\n" + server.output()).isZero();
        assertThat(python.output().lines().filter(l -> l.endsWith(" OK"))).as(python.output()).hasSize(3);
    }

    @ParameterizedTest(name = "{0}: the webapp's own page still works beside the tunnels")
    @ValueSource(strings = {"ee10", "ee11"})
    void theWebappsOwnPageStillWorks(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        HttpResponse<String> page = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port("h2c") + "/")).timeout(HTTP_TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString());

        assertThat(page.statusCode()).as(server.output()).isEqualTo(200);
        assertThat(page.body()).contains("Adit sample WAR");
    }

    @ParameterizedTest(name = "{0}: curl downloads byte-exact through HTTP/1.1 CONNECT")
    @ValueSource(strings = {"ee10", "ee11"})
    void curlDownloadsThroughHttp1Connect(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        ProxyCurl.Fetch fetch = ProxyCurl.fetch(server.port("h2c"), "http://127.0.0.1:" + web.getAddress().getPort() + "/", false);

        assertThat(fetch.exitCode()).as(fetch.describe() + "\nJetty:\n" + server.output()).isZero();
        assertThat(fetch.connectStatus()).as(fetch.describe()).isEqualTo(200);
        assertThat(fetch.bodySha256()).as(fetch.describe()).isEqualTo(Payloads.sha256(download));
    }

    @ParameterizedTest(name = "{0}: python3-h2 echoes byte-exact through plain CONNECT over h2c")
    @ValueSource(strings = {"ee10", "ee11"})
    void python3H2EchoesThroughPlainConnect(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        assertAllStreamsEchoed(Commands.run(CLIENT_TIMEOUT, python(server.port("h2c"))), server);
    }

    @ParameterizedTest(name = "{0}: python3-h2 echoes byte-exact through extended CONNECT :protocol={1} over h2c")
    @CsvSource({"ee10,websocket", "ee10,bytestream", "ee11,websocket", "ee11,bytestream"})
    void python3H2EchoesThroughExtendedConnect(String environment, String protocol) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        assertAllStreamsEchoed(Commands.run(CLIENT_TIMEOUT, python(server.port("h2c"), "--protocol", protocol, "--path", "/tunnel")), server);
    }

    /**
     * Targets that reset make the WAR's Adit reset its tunnels' streams with CONNECT_ERROR, here
     * 300 in quick succession on one h2c connection, more than the 128 a second that jetty-home's
     * rate control allows. The webapp's copy of Adit sends those resets and the server's copy
     * (from {@code adit-connect-path}) must recognise them as Adit's, by class name, or the
     * client loses its connection and its other tunnels with GOAWAY(ENHANCE_YOUR_CALM).
     */
    @ParameterizedTest(name = "{0}: 300 targets resetting do not cost an h2c connection its other tunnels")
    @ValueSource(strings = {"ee10", "ee11"})
    void targetsResettingDoNotCostTheConnectionItsOtherTunnels(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        try (TcpTarget resetting = new TcpTarget(TcpTarget.resetAfter(16));
             Http2TunnelClient client = TunnelClient.connectH2(Transport.H2C, new InetSocketAddress("127.0.0.1", server.port("h2c")),
                 Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW))
        {
            Http2Tunnel bystander = client.open(echo.authority(), Map.of(), null, HTTP_TIMEOUT);
            assertThat(bystander.status()).isEqualTo(200);
            long start = System.nanoTime();
            for (int i = 0; i < 300; i++)
            {
                Http2Tunnel tunnel = client.open(resetting.authority(), Map.of(), null, HTTP_TIMEOUT);
                assertThat(tunnel.status()).as("tunnel %d", i).isEqualTo(200);
                tunnel.sendEndAndAwaitReset(Payloads.random(16), HTTP_TIMEOUT);
            }
            long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertThat(client.goAway()).as("GOAWAY after 300 resets in %d ms:\n%s", millis, server.output()).isNotDone();
            byte[] ping = Payloads.random(100);
            bystander.write(ping, HTTP_TIMEOUT);
            assertThat(bystander.readExactly(ping.length, HTTP_TIMEOUT)).isEqualTo(ping);
        }
    }

    @ParameterizedTest(name = "{0}: python3-h2 echoes byte-exact through POST tunnels over h2c")
    @ValueSource(strings = {"ee10", "ee11"})
    void python3H2EchoesThroughPostTunnels(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        assertAllStreamsEchoed(Commands.run(CLIENT_TIMEOUT, python(server.port("h2c"), "--post", "/post")), server);
    }

    @ParameterizedTest(name = "{0}: curl echoes byte-exact through a chunked POST tunnel over HTTP/1.1")
    @ValueSource(strings = {"ee10", "ee11"})
    void curlEchoesThroughAChunkedPostTunnel(String environment) throws Exception
    {
        JettyBase.Server server = deployed(environment);
        byte[] payload = Payloads.random(SIZE);
        Path dir = Files.createTempDirectory(bases, "post-");
        Path upload = Files.write(dir.resolve("upload.bin"), payload);
        Path echoed = dir.resolve("echoed.bin");
        Path head = dir.resolve("head.txt");
        // The target is the POST's Host; "Expect:" stops curl waiting for a 100 Continue.
        Commands.Result curl = Commands.run(CLIENT_TIMEOUT, List.of("curl", "-q", "-sS", "--max-time", "60", "--noproxy", "",
            "-H", "Host: " + echo.authority(), "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
            "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + upload, "-D", head.toString(), "-o", echoed.toString(),
            "-w", "%{http_code}", "http://127.0.0.1:" + server.port("h2c") + "/post"));

        assertThat(curl.exitCode()).as(curl.output() + "\nJetty:\n" + server.output()).isZero();
        assertThat(curl.output()).isEqualTo("200");
        assertThat(Files.readString(head)).containsIgnoringCase("transfer-encoding: chunked").doesNotContainIgnoringCase("content-length");
        assertThat(Payloads.sha256(Files.readAllBytes(echoed))).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));
    }

    /**
     * Jetty's stock HTTP/1.1 parser eats CR and LF bytes right after a CONNECT's head; the
     * {@code adit-connect-path} module puts Adit's connection factory on Jetty's connector, so
     * they reach the target through the WAR too.
     */
    @ParameterizedTest(name = "{0}: HTTP/1.1 early data starting with CR LF reaches the target whole")
    @ValueSource(strings = {"ee10", "ee11"})
    void earlyDataStartingWithCrLfReachesTheTargetWhole(String environment) throws Exception
    {
        CrLfEarlyData.assertReachesTheTargetWhole(deployed(environment), echo, CLIENT_TIMEOUT);
    }

    /**
     * A base without jetty-home's HTTP/2 modules has no HTTP/2 classes on the server: the tunnel
     * handler must touch them only for HTTP/2 requests, or an HTTP/1.1 CONNECT it refuses
     * fails with a NoClassDefFoundError (500) instead of its status.
     */
    @Test
    void withoutHttp2ModulesARefusedConnectGetsItsStatusAndTunnelsWork() throws Exception
    {
        Path base = bases.resolve("http-only");
        JettyBase jetty = JettyBase.install(base, "http,ee10-deploy,adit-connect-path");
        Path webapps = Files.createDirectories(base.resolve("webapps"));
        Files.copy(war(), webapps.resolve("ROOT.war"), StandardCopyOption.REPLACE_EXISTING);
        assertThat(base.resolve("lib/http2")).doesNotExist();

        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0",
            "-Dadit.policy.deny=" + echo.authority()).awaitStarted())
        {
            int port = server.port("http/1.1");
            ProxyCurl.Fetch denied = ProxyCurl.fetch(port, "http://" + echo.authority() + "/", false);
            assertThat(denied.connectStatus()).as(denied.describe() + "\nJetty:\n" + server.output()).isEqualTo(403);
            assertThat(server.output()).doesNotContain("NoClassDefFoundError");

            ProxyCurl.Fetch fetch = ProxyCurl.fetch(port, "http://127.0.0.1:" + web.getAddress().getPort() + "/", false);
            assertThat(fetch.connectStatus()).as(fetch.describe() + "\nJetty:\n" + server.output()).isEqualTo(200);
            assertThat(fetch.bodySha256()).as(fetch.describe()).isEqualTo(Payloads.sha256(download));
        }
    }

    @Test
    void aBadValueFailsTheDeploymentNamingTheKeyInJettysLog() throws Exception
    {
        JettyBase jetty = deploy("ee10", bases.resolve("bad"));
        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0", "-Dadit.tunnel.idle-timeout=soon").awaitStarted())
        {
            HttpResponse<String> page = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port("h2c") + "/")).timeout(HTTP_TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString());

            assertThat(server.output())
                .contains("Failed startup of context")
                .contains("adit.tunnel.idle-timeout: soon (expected: a duration");
            assertThat(page.statusCode()).isEqualTo(503);
        }
    }
}
