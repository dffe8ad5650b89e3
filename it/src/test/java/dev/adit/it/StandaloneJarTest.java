package dev.adit.it;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import com.sun.net.httpserver.HttpServer;
import dev.adit.testing.TcpTarget;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The standalone jar as a user runs it, driven by clients nobody here wrote: curl for
 * HTTP/1.1 CONNECT (plain and through the TLS listener) and python3-h2 for HTTP/2 CONNECT
 * (h2c and TLS with ALPN h2).
 */
@Timeout(300)
class StandaloneJarTest
{
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(60);
    private static final String PAGE = "hello from a local HTTP server\n";

    private static AditProcess adit;
    private static HttpServer web;
    private static TcpTarget echo;

    @BeforeAll
    static void start() throws Exception
    {
        web = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        web.createContext("/", exchange ->
        {
            byte[] body = PAGE.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        web.start();
        echo = new TcpTarget(TcpTarget.echo());
        adit = AditProcess.startListening(List.of(), List.of());
    }

    @AfterAll
    static void stop() throws Exception
    {
        if (adit != null)
            adit.close();
        if (echo != null)
            echo.close();
        if (web != null)
            web.stop(0);
    }

    private static String webUrl()
    {
        return "http://127.0.0.1:" + web.getAddress().getPort() + "/";
    }

    @Test
    void curlFetchesALocalPageThroughConnectOverHttp1() throws Exception
    {
        Commands.Result curl = Commands.run(CLIENT_TIMEOUT, List.of("curl", "-sS", "--max-time", "30", "-p",
            "-x", "http://127.0.0.1:" + adit.httpPort(), webUrl()));

        assertThat(curl.exitCode()).as(curl.output()).isZero();
        assertThat(curl.output()).isEqualTo(PAGE);
    }

    @Test
    void curlFetchesALocalPageThroughConnectOverTheTlsListener() throws Exception
    {
        Commands.Result curl = Commands.run(CLIENT_TIMEOUT, List.of("curl", "-sS", "--max-time", "30", "-p",
            "-x", "https://127.0.0.1:" + adit.httpsPort(), "--proxy-insecure", webUrl()));

        assertThat(curl.exitCode()).as(curl.output()).isZero();
        assertThat(curl.output()).isEqualTo(PAGE);
    }

    @Test
    void curlSeesA200WithoutContentLengthAnd502ForARefusedPort() throws Exception
    {
        Commands.Result ok = Commands.run(CLIENT_TIMEOUT, List.of("curl", "-sS", "-v", "--max-time", "30", "-p",
            "-x", "http://127.0.0.1:" + adit.httpPort(), webUrl()));
        assertThat(ok.output()).contains("< HTTP/1.1 200").doesNotContainIgnoringCase("< content-length: 0");

        int refused;
        try (var probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()))
        {
            refused = probe.getLocalPort();
        }
        Commands.Result bad = Commands.run(CLIENT_TIMEOUT, List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_connect}",
            "--max-time", "30", "-p", "-x", "http://127.0.0.1:" + adit.httpPort(), "http://127.0.0.1:" + refused + "/"));
        assertThat(bad.output()).isEqualTo("502");
    }

    @ParameterizedTest(name = "python3-h2 echoes byte-exact over {0}")
    @ValueSource(strings = {"h2c", "h2"})
    void python3H2EchoesThroughHttp2Connect(String mode) throws Exception
    {
        int port = mode.equals("h2") ? adit.httpsPort() : adit.httpPort();
        Commands.Result python = Commands.run(CLIENT_TIMEOUT, List.of("/usr/bin/python3", "src/test/resources/h2_connect_echo.py",
            "127.0.0.1", Integer.toString(port), mode, echo.authority(), "4", Integer.toString(1 << 20), "7"));

        assertThat(python.exitCode()).as(python.output()).isZero();
        assertThat(python.output().lines().filter(l -> l.endsWith(" OK"))).hasSize(4);
    }

    @Test
    void anInvalidValueStopsTheStartNamingTheKey() throws Exception
    {
        try (AditProcess bad = AditProcess.start(List.of("-Dadit.http.port=70000", "-Dadit.tunnel.idle-timeout=soon"), List.of()))
        {
            assertThat(bad.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(bad.output())
                .contains("adit.http.port: 70000 (expected: an integer from 0 to 65535)")
                .contains("adit.tunnel.idle-timeout: soon (expected: a duration");
        }
    }

    @Test
    void anUnknownKeyInTheConfigFileStopsTheStart(@TempDir Path dir) throws Exception
    {
        Path file = Files.writeString(dir.resolve("adit.properties"), "adit.http.prot=8080\n");
        try (AditProcess bad = AditProcess.start(List.of(), List.of("--config", file.toString())))
        {
            assertThat(bad.awaitExit(Duration.ofSeconds(60))).isEqualTo(2);
            assertThat(bad.output()).contains("adit.http.prot: unknown key");
        }
    }

    @Test
    void theConfigFileIsReadAndSystemPropertiesOverrideIt(@TempDir Path dir) throws Exception
    {
        Path file = Files.writeString(dir.resolve("adit.properties"), "adit.https.enabled=false\nadit.http.port=1\n");
        try (AditProcess configured = AditProcess.start(List.of("-Dadit.http.port=0"), List.of("--config", file.toString())))
        {
            // Only the plain listener: the file disabled TLS, the system property chose the port.
            assertThat(configured.awaitLine("Adit listening on", Duration.ofSeconds(60))).startsWith("Adit listening on http://127.0.0.1:");
            assertThat(configured.output()).doesNotContain("development certificate");
            assertThat(configured.terminate(Duration.ofSeconds(30))).isIn(0, 143);
        }
    }

    @Test
    void sigtermStopsAditCleanly() throws Exception
    {
        try (AditProcess running = AditProcess.startListening(List.of(), List.of()))
        {
            assertThat(running.terminate(Duration.ofSeconds(30))).isIn(0, 143);
            assertThat(running.output()).doesNotContain("Exception");
        }
    }
}
