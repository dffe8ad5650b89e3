package dev.adit.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.adit.log.JsonLine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed demo (Envoy's "TCP tunneling over HTTP/2 CONNECT" with a TLS server), HBONE style,
 * with two standalone jars and the repository's own files: {@code certs/gen-certs.sh --spiffe}
 * for the certificates, {@code config/hbone-client.properties} and
 * {@code config/hbone-server.properties}, and the demo's echo server and client in
 * {@code it/demo/}.
 *
 * <pre>
 *   client.py --TCP--&gt; client Adit :10000 --h2 CONNECT, mTLS--&gt; server Adit :15008 --TCP--&gt; echo-server.py :9000
 * </pre>
 *
 * Ports are free ones here, set with system properties; everything else is the files as the
 * README runs them.
 */
@Timeout(300)
class HboneScenarioTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    static Path certs;

    private static Script echo;
    private static AditProcess server;
    private static AditProcess client;
    private static int echoPort;
    private static int encapPort;

    @BeforeAll
    static void start() throws Exception
    {
        Commands.Result made = Commands.run(TIMEOUT, List.of("bash", repository("certs/gen-certs.sh").toString(), "--force", "--spiffe", "cluster.local", certs.toString()));
        assertThat(made.exitCode()).as(made.output()).isZero();

        echo = Script.start(List.of("python3", repository("it/demo/echo-server.py").toString(), "0"));
        echoPort = Integer.parseInt(echo.awaitLine("Echo server listening on ", TIMEOUT).replaceAll(".*:(\\d+)$", "$1"));

        server = AditProcess.start(List.of(
                "-Dadit.https.port=0",
                "-Dadit.tls.cert-chain=" + certs.resolve("server.pem"),
                "-Dadit.tls.private-key=" + certs.resolve("server.key"),
                "-Dadit.tls.client-ca=" + certs.resolve("ca.pem"),
                "-Dadit.policy.allow=127.0.0.1:" + echoPort),
            List.of("--config", AditProcess.configFile("hbone-server.properties").toString()));
        int serverPort = server.awaitPort("Adit listening on https://", TIMEOUT);

        client = AditProcess.start(List.of(
                "-Dadit.encap.client.port=0",
                "-Dadit.encap.client.hostname=127.0.0.1:" + echoPort,
                "-Dadit.cluster.hbone.endpoints=127.0.0.1:" + serverPort,
                "-Dadit.cluster.hbone.tls.ca=" + certs.resolve("ca.pem"),
                "-Dadit.cluster.hbone.tls.cert-chain=" + certs.resolve("client.pem"),
                "-Dadit.cluster.hbone.tls.private-key=" + certs.resolve("client.key")),
            List.of("--config", AditProcess.configFile("hbone-client.properties").toString()));
        encapPort = client.awaitPort("Adit encapsulating client on tcp://", TIMEOUT);
    }

    private static Path repository(String file)
    {
        return AditProcess.configFile("hbone-client.properties").getParent().getParent().resolve(file);
    }

    @AfterAll
    static void stop() throws Exception
    {
        if (client != null)
            client.close();
        if (server != null)
            server.close();
        if (echo != null)
            echo.close();
    }

    @Test
    void fiveMessagesComeBackAndBothSidesLogTheTunnelWithTheSameCounts() throws Exception
    {
        Commands.Result run = Commands.run(TIMEOUT, List.of("python3", repository("it/demo/client.py").toString(), Integer.toString(encapPort), "0.2"));
        assertThat(run.exitCode()).as(run.output()).isZero();
        for (int n = 1; n <= 5; n++)
            assertThat(run.output()).contains("Received from server: Echo from server: Message " + n + " from client!");
        assertThat(run.output()).contains("Disconnected from server.");

        long sent = 0;
        long echoed = 0;
        for (int n = 1; n <= 5; n++)
        {
            sent += ("Message " + n + " from client!").length();
            echoed += ("Echo from server: Message " + n + " from client!").length();
        }
        Map<String, Object> clientLog = accessLog(client, "tcp");
        Map<String, Object> serverLog = accessLog(server, "HTTP/2");
        for (Map<String, Object> log : List.of(clientLog, serverLog))
        {
            assertThat(log).as("%s", log)
                .containsEntry("bytes_received", sent)
                .containsEntry("bytes_sent", echoed)
                .containsEntry("authority", "127.0.0.1:" + echoPort)
                .containsEntry("response_code", 200L)
                .containsEntry("response_flags", "-");
        }
        assertThat(clientLog).containsEntry("upstream_cluster", "hbone").containsEntry("downstream_local_address", "127.0.0.1:" + encapPort);
        assertThat(serverLog).containsEntry("upstream_host", "127.0.0.1:" + echoPort);
        // The server's client is the client Adit, over its pooled connection.
        assertThat((String)serverLog.get("downstream_remote_address")).startsWith("127.0.0.1:");
    }

    /** Waits (bounded) for the one access-log line of a tunnel over {@code protocol}. */
    private static Map<String, Object> accessLog(AditProcess adit, String protocol) throws Exception
    {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true)
        {
            List<Map<String, Object>> lines = new ArrayList<>();
            for (String line : adit.linesWith("\"start_time\""))
            {
                Map<String, Object> log = JsonLine.parse(line.substring(line.indexOf('{')));
                if (protocol.equals(log.get("protocol")))
                    lines.add(log);
            }
            if (!lines.isEmpty())
            {
                assertThat(lines).as("access-log lines over %s", protocol).hasSize(1);
                return lines.get(0);
            }
            if (System.nanoTime() > deadline)
                throw new AssertionError("no access-log line over " + protocol + "; output:\n" + adit.output());
            adit.awaitLine("\"start_time\"", Duration.ofMillis(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
        }
    }

    /** A helper process whose output is read line by line. */
    private static final class Script implements AutoCloseable
    {
        private final Process process;
        private final ProcessOutput output;

        private Script(Process process)
        {
            this.process = process;
            this.output = new ProcessOutput(process, "script-output");
        }

        static Script start(List<String> command) throws IOException
        {
            return new Script(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        String awaitLine(String text, Duration timeout) throws InterruptedException
        {
            return output.awaitLine(text, timeout);
        }

        @Override
        public void close() throws InterruptedException
        {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS))
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
