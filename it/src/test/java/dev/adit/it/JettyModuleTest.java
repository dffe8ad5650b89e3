package dev.adit.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.TrustAll;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Jetty module as a user installs it: {@code adit-jetty-base.tar.gz} unpacked into a fresh
 * jetty-base over the real jetty-home 12.1.12, {@code start.jar --add-modules=...,adit}, Jetty
 * started as its own process, and clients nobody here wrote: curl for HTTP/1.1 CONNECT,
 * python3-h2 for HTTP/2 CONNECT. Targets are local; payloads are random and checked by digest.
 */
@Timeout(300)
class JettyModuleTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String PAGE = "hello from jetty-home\n";
    private static final int BULK = 1 << 20;

    @TempDir
    static Path plainBase;

    private static byte[] bulk;
    private static HttpServer web;
    private static TcpTarget echo;
    private static JettyBase.Server plain;

    @BeforeAll
    static void start() throws Exception
    {
        bulk = Payloads.random(BULK);
        web = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        web.createContext("/", exchange ->
        {
            try (exchange)
            {
                exchange.sendResponseHeaders(200, bulk.length);
                exchange.getResponseBody().write(bulk);
            }
        });
        web.start();
        echo = new TcpTarget(TcpTarget.echo());

        JettyBase jetty = JettyBase.install(plainBase, "http,http2c,ee10-deploy,adit");
        Path hello = Files.createDirectories(plainBase.resolve("webapps/hello"));
        Files.writeString(hello.resolve("index.html"), PAGE);
        plain = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0").awaitStarted();
    }

    @AfterAll
    static void stop() throws Exception
    {
        if (plain != null)
            plain.close();
        if (echo != null)
            echo.close();
        if (web != null)
            web.stop(0);
    }

    private static String bulkUrl()
    {
        return "http://127.0.0.1:" + web.getAddress().getPort() + "/bulk";
    }

    @Test
    void curlFetchesRandomBytesByteExactThroughHttp1Connect() throws Exception
    {
        ProxyCurl.Fetch fetch = ProxyCurl.fetch(plain.port("h2c"), bulkUrl(), false);

        assertThat(fetch.exitCode()).as(fetch.describe()).isZero();
        assertThat(fetch.connectStatus()).as(fetch.describe()).isEqualTo(200);
        assertThat(fetch.bodySha256()).as(fetch.describe()).isEqualTo(Payloads.sha256(bulk));
    }

    @Test
    void python3H2EchoesByteExactThroughH2cConnect() throws Exception
    {
        Commands.Result python = h2ConnectEcho(plain.port("h2c"), "h2c");

        assertThat(python.exitCode()).as(python.output() + "\njetty:\n" + plain.output()).isZero();
        assertThat(python.output().lines().filter(l -> l.endsWith(" OK"))).hasSize(4);
    }

    /**
     * Jetty's stock HTTP/1.1 parser eats CR and LF bytes right after a CONNECT's head; the
     * module puts Adit's connection factory on Jetty's connector, so they reach the target.
     */
    @Test
    void earlyDataStartingWithCrLfReachesTheTargetWhole() throws Exception
    {
        CrLfEarlyData.assertReachesTheTargetWhole(plain, echo, TIMEOUT);
    }

    @Test
    void theStaticWebappOnTheSameServerStillAnswers() throws Exception
    {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + plain.port("h2c") + "/hello/")).timeout(TIMEOUT).build(),
            HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).as(plain.output()).isEqualTo(200);
        assertThat(response.body()).isEqualTo(PAGE);
    }

    /**
     * {@code ssl,https,http2}: jetty-home's TLS connector with a keystore, as its
     * {@code ssl-context} module documents. The certificate names no host the clients use, so
     * the CONNECTs pass only because the module exempts them from Jetty's SNI host check, which
     * still applies to the webapp's requests.
     */
    @Test
    void overJettysTlsConnectorCurlAndPython3H2TunnelByteExact(@TempDir Path base) throws Exception
    {
        Path keyStore = base.resolve("adit-test.p12");
        Commands.Result keytool = Commands.run(TIMEOUT, List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
            "-genkeypair", "-alias", "jetty", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=adit-module-test", "-validity", "2",
            "-keystore", keyStore.toString(), "-storetype", "PKCS12", "-storepass", "changeit", "-keypass", "changeit"));
        assertThat(keytool.exitCode()).as(keytool.output()).isZero();
        JettyBase jetty = JettyBase.install(base, "ssl,https,http2,adit");

        try (JettyBase.Server server = jetty.start("jetty.ssl.host=127.0.0.1", "jetty.ssl.port=0",
            "jetty.sslContext.keyStorePath=" + keyStore, "jetty.sslContext.keyStorePassword=changeit").awaitStarted())
        {
            int port = server.port("ssl");

            Path body = base.resolve("body.bin");
            Commands.Result curl = Commands.run(TIMEOUT, List.of("curl", "-q", "-sS", "--max-time", "60", "--noproxy", "",
                "-p", "-x", "https://127.0.0.1:" + port, "--proxy-insecure", "-o", body.toString(), "-w", "%{http_connect}", bulkUrl()));
            assertThat(curl.exitCode()).as(curl.output() + "\njetty:\n" + server.output()).isZero();
            assertThat(curl.output()).isEqualTo("200");
            assertThat(Payloads.sha256(Files.readAllBytes(body))).isEqualTo(Payloads.sha256(bulk));

            Commands.Result python = h2ConnectEcho(port, "h2");
            assertThat(python.exitCode()).as(python.output() + "\njetty:\n" + server.output()).isZero();
            assertThat(python.output().lines().filter(l -> l.endsWith(" OK"))).hasSize(4);

            Commands.Result get = Commands.run(TIMEOUT, List.of("curl", "-q", "-sS", "-k", "--max-time", "60", "--noproxy", "",
                "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:" + port + "/"));
            assertThat(get.output()).as("a webapp request keeps Jetty's SNI host check").isEqualTo("400");

            // The client's last TLS records after the target finished first all reach the
            // target: the module puts Adit's SslConnection (DrainFirstSslConnection) on Jetty's
            // TLS connector, whose own could drop them with the client's FIN.
            byte[] first = Payloads.random(1000);
            try (TcpTarget target = new TcpTarget(TcpTarget.sendThenEcho(first));
                 TunnelClient client = TunnelClient.connect(Transport.HTTP1_TLS, new InetSocketAddress("127.0.0.1", port), TrustAll.sslContext()))
            {
                for (int i = 0; i < 5; i++)
                {
                    try (Tunnel tunnel = client.open(target.authority(), TIMEOUT))
                    {
                        assertThat(tunnel.readToEnd(TIMEOUT).sha256()).isEqualTo(Payloads.sha256(first));
                        byte[] second = Payloads.random(64 * 1024);
                        for (int at = 0; at < second.length; at += 100)
                            tunnel.write(Arrays.copyOfRange(second, at, Math.min(second.length, at + 100)));
                        tunnel.shutdownOutput();
                        TcpTarget.Received received = target.received(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                        assertThat(received.count()).as("tunnel %d: bytes the target received", i).isEqualTo(second.length);
                        assertThat(received.sha256()).isEqualTo(Payloads.sha256(second));
                    }
                }
            }
        }
    }

    @Test
    void anInvalidValueInEtcAditPropertiesStopsTheStartNamingTheKey(@TempDir Path base) throws Exception
    {
        JettyBase jetty = JettyBase.install(base, "http,adit");
        Files.writeString(base.resolve("etc/adit.properties"), "adit.tunnel.idle-timeout=banana\n");

        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0"))
        {
            assertThat(server.awaitExit(TIMEOUT)).as(server.output()).isNotZero();
            assertThat(server.output())
                .contains("Adit: adit.tunnel.idle-timeout: banana (expected: a duration")
                .doesNotContain("Started oejs.Server@");
        }
    }

    @Test
    void onEveryInterfaceTheDefaultConfigurationIsAnOpenProxyAndDoesNotStart(@TempDir Path base) throws Exception
    {
        JettyBase jetty = JettyBase.install(base, "http,adit");

        // jetty.http.host unset: every interface. Refused while the XML runs, before any bind.
        try (JettyBase.Server server = jetty.start("jetty.http.port=0"))
        {
            assertThat(server.awaitExit(TIMEOUT)).as(server.output()).isNotZero();
            assertThat(server.output())
                .contains("Adit: jetty.http.host: unset, every interface (expected: a loopback address while adit.policy.allow allows every destination")
                .doesNotContain("Started oejs");
        }
    }

    @Test
    void theFileNamedByJettyAditConfigIsReadAndMustExist(@TempDir Path base) throws Exception
    {
        JettyBase jetty = JettyBase.install(base, "http,adit");
        Path file = Files.writeString(base.resolve("elsewhere.properties"), "adit.policy.deny=" + echo.authority() + "\n");

        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0", "jetty.adit.config=" + file).awaitStarted())
        {
            ProxyCurl.Fetch denied = ProxyCurl.fetch(server.port("http/1.1"), "http://" + echo.authority() + "/", false);
            assertThat(denied.connectStatus()).as(denied.describe()).isEqualTo(403);
            ProxyCurl.Fetch allowed = ProxyCurl.fetch(server.port("http/1.1"), bulkUrl(), false);
            assertThat(allowed.bodySha256()).as(allowed.describe()).isEqualTo(Payloads.sha256(bulk));
        }
        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=0", "jetty.adit.config=missing.properties"))
        {
            assertThat(server.awaitExit(TIMEOUT)).as(server.output()).isNotZero();
            assertThat(server.output()).contains("Adit: cannot read its configuration, not starting: jetty.adit.config: " + base.resolve("missing.properties"));
        }
    }

    /**
     * {@code adit-encap}: plain TCP into Jetty's encapsulating connector, out as an HTTP/2
     * CONNECT over h2c to the same Jetty's own connector, which terminates it to the echo target.
     */
    @Test
    void theEncapModuleCarriesPlainTcpThroughAnH2cTunnelByteExact(@TempDir Path base) throws Exception
    {
        JettyBase jetty = JettyBase.install(base, "http,http2c,adit,adit-encap");
        int httpPort = freePort();
        int encapPort = freePort();
        Files.writeString(base.resolve("etc/adit.properties"), String.join("\n",
            "adit.encaps=loop",
            "adit.encap.loop.port=" + encapPort,
            "adit.encap.loop.cluster=self",
            "adit.encap.loop.hostname=" + echo.authority(),
            "adit.cluster.self.endpoints=127.0.0.1:" + httpPort,
            "adit.cluster.self.protocol=h2",
            ""));

        try (JettyBase.Server server = jetty.start("jetty.http.host=127.0.0.1", "jetty.http.port=" + httpPort).awaitStarted())
        {
            byte[] payload = Payloads.random(BULK);
            byte[] back;
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), encapPort))
            {
                socket.setSoTimeout((int)TIMEOUT.toMillis());
                // The echo comes back while this writes: a reader of its own, bounded by the socket timeout.
                CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() ->
                {
                    try
                    {
                        return readAll(socket.getInputStream());
                    }
                    catch (IOException x)
                    {
                        throw new UncheckedIOException(x);
                    }
                });
                socket.getOutputStream().write(payload);
                socket.shutdownOutput();
                back = reader.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            }
            assertThat(Payloads.sha256(back)).as(server.output()).isEqualTo(Payloads.sha256(payload));
        }
    }

    private static Commands.Result h2ConnectEcho(int port, String mode) throws IOException, InterruptedException
    {
        return Commands.run(TIMEOUT, List.of("/usr/bin/python3", "src/test/resources/h2_connect_echo.py",
            "127.0.0.1", Integer.toString(port), mode, echo.authority(), "4", Integer.toString(BULK), "11"));
    }

    private static byte[] readAll(InputStream in) throws IOException
    {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        return all.toByteArray();
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return probe.getLocalPort();
        }
    }
}
