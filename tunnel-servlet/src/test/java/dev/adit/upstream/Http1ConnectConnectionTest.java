package dev.adit.upstream;

import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.testing.Payloads;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Promise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Http1ConnectConnection} against a scripted upstream proxy: the request it sends, a 2xx
 * that opens the tunnel (framing headers ignored, bytes after the header block kept), refusals
 * relayed with status, headers and body, malformed answers and silence.
 */
@Timeout(value = 60, unit = SECONDS)
class Http1ConnectConnectionTest
{
    private static final String TARGET = "example.com:443";
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(5);

    private static UpstreamHarness harness;

    @BeforeAll
    static void start() throws Exception
    {
        harness = new UpstreamHarness();
    }

    @AfterAll
    static void stop() throws Exception
    {
        harness.close();
    }

    @AfterEach
    void checkLeaks() throws Exception
    {
        harness.assertQuiescentWithoutLeaks();
    }

    @Test
    void theRequestCarriesTheTargetAndOnlyEndToEndHeaders() throws Exception
    {
        HttpFields headers = HttpFields.build()
            .add(HttpHeader.HOST, "ignored.example")
            .add(HttpHeader.PROXY_AUTHORIZATION, "Basic dXA6c2VjcmV0")
            .add(HttpHeader.CONNECTION, "keep-alive, X-Hop")
            .add("X-Hop", "named by Connection")
            .add(HttpHeader.KEEP_ALIVE, "timeout=5")
            .add(HttpHeader.PROXY_CONNECTION, "keep-alive")
            .add(HttpHeader.TE, "trailers")
            .add(HttpHeader.TRANSFER_ENCODING, "chunked")
            .add(HttpHeader.CONTENT_LENGTH, "0")
            .add("X-Adit-Route", "r1");
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenEcho(ascii("HTTP/1.1 200 OK\r\n\r\n"))))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, "[::1]:8443", headers, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            assertThat(proxy.requestHead().get(10, SECONDS)).isEqualTo("""
                CONNECT [::1]:8443 HTTP/1.1\r
                Host: [::1]:8443\r
                Proxy-Authorization: Basic dXA6c2VjcmV0\r
                X-Adit-Route: r1\r
                \r
                """);
            tunnel.dispose(new Exception("test over"));
        }
    }

    @ParameterizedTest(name = "answer: {0}")
    @ValueSource(strings = {
        "HTTP/1.1 200 Connection established\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n",
        "HTTP/1.0 204 No Content\r\nVia: 1.0 upstream\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    })
    void a2xxOpensTheTunnelAndKeepsTheBytesAfterTheHeaderBlock(String answer) throws Exception
    {
        byte[] early = Payloads.random(3000);
        byte[] payload = Payloads.random(200_000);
        byte[] head = ascii(answer);
        byte[] first = ByteBuffer.allocate(head.length + early.length).put(head).put(early).array();
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenEcho(first)))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                InputStream in = client.getInputStream();
                assertThat(Payloads.sha256(UpstreamHarness.readExactly(in, early.length)))
                    .as("bytes the proxy sent after the header block (" + Payloads.seedNote() + ")")
                    .isEqualTo(Payloads.sha256(early));

                CompletableFuture<Void> writing = harness.writeAsync(client.getOutputStream(), payload);
                byte[] echoed = UpstreamHarness.readExactly(in, payload.length);
                writing.get(10, SECONDS);
                assertThat(Payloads.sha256(echoed)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));

                client.shutdownOutput();
                assertThat(in.read()).as("the proxy's FIN after the client's").isEqualTo(-1);
            }
            proxy.done().get(10, SECONDS);
        }
    }

    @Test
    void a407IsRefusedWithItsStatusEndToEndHeadersAndBody() throws Exception
    {
        String body = "<html><body>upstream wants credentials</body></html>";
        String answer = "HTTP/1.1 407 Proxy Authentication Required\r\n"
            + "Proxy-Authenticate: Basic realm=\"upstream\"\r\n"
            + "Content-Type: text/html\r\n"
            + "Connection: close\r\n"
            + "Proxy-Connection: close\r\n"
            + "Content-Length: " + body.length() + "\r\n"
            + "\r\n"
            + body;
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(answer))))
        {
            UpstreamRefusedException refused = refusal(proxy);

            assertThat(refused.failure()).isEqualTo(TunnelFailure.UPSTREAM_REFUSED);
            assertThat(refused.status()).isEqualTo(407);
            assertThat(refused.headers().get(HttpHeader.PROXY_AUTHENTICATE)).isEqualTo("Basic realm=\"upstream\"");
            assertThat(refused.headers().get(HttpHeader.CONTENT_TYPE)).isEqualTo("text/html");
            assertThat(refused.headers().getFieldNamesCollection()).doesNotContain("Connection", "Proxy-Connection", "Content-Length");
            assertThat(BufferUtil.toString(refused.body(), StandardCharsets.US_ASCII)).isEqualTo(body);
            assertThat(refused.getMessage()).contains("407 Proxy Authentication Required").contains(TARGET);
        }
    }

    @Test
    void a503WithAChunkedBodyIsRefusedWithTheWholeBody() throws Exception
    {
        String answer = "HTTP/1.1 503 Service Unavailable\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "Retry-After: 5\r\n"
            + "\r\n"
            + "9\r\nupstream \r\n"
            + "4\r\ndown\r\n"
            + "0\r\n\r\n";
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(answer))))
        {
            UpstreamRefusedException refused = refusal(proxy);

            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.headers().get("Retry-After")).isEqualTo("5");
            assertThat(refused.headers().contains(HttpHeader.TRANSFER_ENCODING)).isFalse();
            assertThat(BufferUtil.toString(refused.body(), StandardCharsets.US_ASCII)).isEqualTo("upstream down");
        }
    }

    @Test
    void aRefusalBodyIsKeptUpTo64KiB() throws Exception
    {
        byte[] body = Payloads.random(100_000);
        byte[] head = ascii("HTTP/1.1 502 Bad Gateway\r\n\r\n");
        byte[] answer = ByteBuffer.allocate(head.length + body.length).put(head).put(body).array();
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenClose(answer)))
        {
            UpstreamRefusedException refused = refusal(proxy);

            assertThat(refused.status()).isEqualTo(502);
            assertThat(Payloads.sha256(BufferUtil.toArray(refused.body())))
                .as(Payloads.seedNote())
                .isEqualTo(Payloads.sha256(body, 0, Http1ConnectConnection.MAX_BODY));
        }
    }

    @Test
    void garbageIsAnUpstreamProtocolError() throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii("SSH-2.0-OpenSSH_9.6\r\n\r\n"))))
        {
            TunnelException failure = failure(proxy, RESPONSE_TIMEOUT);

            assertThat(failure.failure()).isEqualTo(TunnelFailure.UPSTREAM_PROTOCOL_ERROR);
            assertThat(failure.getMessage()).contains("malformed answer");
        }
    }

    @Test
    void aCloseBeforeTheEndOfTheHeaderBlockIsAnUpstreamProtocolError() throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenClose(ascii("HTTP/1.1 200 Connection established\r\nVia: 1.1 upstream\r\n"))))
        {
            TunnelException failure = failure(proxy, RESPONSE_TIMEOUT);

            assertThat(failure.failure()).isEqualTo(TunnelFailure.UPSTREAM_PROTOCOL_ERROR);
            assertThat(failure.getMessage()).contains("closed before");
        }
    }

    @Test
    void noAnswerWithinTheResponseTimeoutIsAConnectTimeout() throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.silent()))
        {
            long start = System.nanoTime();
            TunnelException failure = failure(proxy, Duration.ofMillis(300));
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(failure.failure()).isEqualTo(TunnelFailure.CONNECT_TIMEOUT);
            assertThat(failure.getMessage()).isEqualTo("upstream proxy " + proxy.authority() + " did not answer CONNECT " + TARGET + " within 300 ms");
            assertThat(elapsedMillis).isBetween(250L, 3_000L);
        }
    }

    // ---- helpers ----

    /** Dials the proxy and installs the connection; the result is the CONNECT's outcome. */
    private static Promise.Completable<Void> connect(FakeProxy proxy, String target, HttpFields headers, Tunnel tunnel, Duration timeout) throws Exception
    {
        Promise.Completable<Void> established = new Promise.Completable<>();
        harness.dial(proxy.authority(), harness.plain(Duration.ofSeconds(3)),
            Http1ConnectConnection.factory(harness.threads, harness.pool, harness.scheduler, target, headers, tunnel, timeout, established))
            .get(10, SECONDS);
        return established;
    }

    private static TunnelException failure(FakeProxy proxy, Duration timeout) throws Exception
    {
        return harness.failure(TARGET, tunnel -> connect(proxy, TARGET, HttpFields.EMPTY, tunnel, timeout), "CONNECT via " + proxy.authority());
    }

    private static UpstreamRefusedException refusal(FakeProxy proxy) throws Exception
    {
        TunnelException failure = failure(proxy, RESPONSE_TIMEOUT);
        assertThat(failure).isInstanceOf(UpstreamRefusedException.class);
        return (UpstreamRefusedException)failure;
    }

    private static byte[] ascii(String s)
    {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
