package dev.adit.upstream;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;

import dev.adit.config.TunnelConfig;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.testing.Payloads;
import dev.adit.testing.TunnelResetException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Promise;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * {@link Http1PostConnection} and {@link Http1PostEndPoint} against a scripted HTTP/1.1 server:
 * the request head, the request body as chunks ended by the last chunk on the client's
 * half-close, each framing of the response body (chunked with extensions and trailers, to the
 * close, Content-Length) as the stream back, refusals, malformed answers, and response bodies
 * that break (malformed framing, cut short, reset) or a client that resets: a failure on either
 * side reaches the other as one, never as a clean end.
 */
@Timeout(value = 60, unit = SECONDS)
class Http1PostConnectionTest
{
    private static final String TARGET = "example.com:443";
    private static final String PATH = "/tunnel/tcp";
    private static final String CHUNKED_200 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(5);

    private static UpstreamHarness harness;
    /** Tunnels closed before this test: the harness is shared, its tunnels end one at a time. */
    private int closedBefore;

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

    @BeforeEach
    void countEnds()
    {
        closedBefore = harness.events.closed().size();
    }

    @AfterEach
    void checkLeaks() throws Exception
    {
        harness.assertQuiescentWithoutLeaks();
    }

    @Test
    void theRequestIsAChunkedPostForTheTargetWithOnlyEndToEndHeaders() throws Exception
    {
        HttpFields headers = HttpFields.build()
            .add(HttpHeader.HOST, "ignored.example")
            .add(HttpHeader.CONNECTION, "keep-alive, X-Hop")
            .add("X-Hop", "named by Connection")
            .add(HttpHeader.TRANSFER_ENCODING, "gzip")
            .add(HttpHeader.CONTENT_LENGTH, "0")
            .add("Forwarded", "for=\"127.0.0.1:5000\"");
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(CHUNKED_200))))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, "[::1]:8443", headers, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            // No Expect: 100-continue; the head goes out at once.
            assertThat(proxy.requestHead().get(10, SECONDS)).isEqualTo("""
                POST /tunnel/tcp HTTP/1.1\r
                Host: [::1]:8443\r
                Transfer-Encoding: chunked\r
                Forwarded: for="127.0.0.1:5000"\r
                \r
                """);
            tunnel.dispose(new Exception("test over"));
        }
    }

    @ParameterizedTest(name = "response body: {0}")
    @ValueSource(strings = {"chunked", "to the close", "HTTP/1.0"})
    void theResponseBodyIsTheStreamBackAndEndsAfterTheRequestBody(String framing) throws Exception
    {
        byte[] greeting = Payloads.random(3000);
        byte[] payload = Payloads.random(300_000);
        boolean chunked = framing.equals("chunked");
        String head = switch (framing)
        {
            case "chunked" -> "HTTP/1.1 100 Continue\r\n\r\n" + CHUNKED_200;
            case "to the close" -> "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
            default -> "HTTP/1.0 200 OK\r\n\r\n";
        };
        CompletableFuture<String> requestBody = new CompletableFuture<>();
        FakeProxy.Script echo = (in, out, proxy) ->
        {
            // The greeting comes in the same write as the head: bytes read with the head.
            ByteArrayOutputStream first = new ByteArrayOutputStream();
            first.writeBytes(ascii(head));
            first.writeBytes(chunked ? chunk(greeting, ";greeting=1") : greeting);
            out.write(first.toByteArray());
            out.flush();
            Payloads.Sha256 received = new Payloads.Sha256();
            int n = 0;
            for (byte[] data; (data = readChunk(in)) != null; n++)
            {
                received.update(data);
                out.write(chunked ? chunk(data, n % 2 == 0 ? ";n=" + n : "") : data);
                out.flush();
            }
            requestBody.complete(received.hex());
            if (chunked)
                out.write(ascii("0\r\nX-Trailer: done\r\nX-Other: 1\r\n\r\n"));
            else
                proxy.socket().shutdownOutput();
            out.flush();
        };
        try (FakeProxy proxy = new FakeProxy(echo))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                InputStream in = client.getInputStream();
                assertThat(Payloads.sha256(UpstreamHarness.readExactly(in, greeting.length))).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(greeting));
                CompletableFuture<Void> writing = harness.writeAsync(client.getOutputStream(), payload);
                byte[] echoed = UpstreamHarness.readExactly(in, payload.length);
                writing.get(10, SECONDS);
                assertThat(Payloads.sha256(echoed)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(payload));

                // The half-close is the last chunk; the response's end then the client's FIN.
                client.shutdownOutput();
                assertThat(requestBody.get(10, SECONDS)).as("the request body, to its last chunk").isEqualTo(Payloads.sha256(payload));
                assertThat(in.read()).as("the end of the response body").isEqualTo(-1);
            }
            proxy.done().get(10, SECONDS);
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.COMPLETED);
        }
    }

    @Test
    void aContentLengthBodyEndsTheStreamBackWhileTheClientStillSends() throws Exception
    {
        byte[] fromTarget = Payloads.random(70_000);
        byte[] fromClient = Payloads.random(200_000);
        CompletableFuture<String> requestBody = new CompletableFuture<>();
        FakeProxy.Script script = (in, out, proxy) ->
        {
            out.write(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + fromTarget.length + "\r\n\r\n"));
            out.write(fromTarget);
            out.flush();
            Payloads.Sha256 received = new Payloads.Sha256();
            for (byte[] data; (data = readChunk(in)) != null; )
                received.update(data);
            requestBody.complete(received.hex());
        };
        try (FakeProxy proxy = new FakeProxy(script))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                InputStream in = client.getInputStream();
                assertThat(Payloads.sha256(in.readAllBytes())).as("the target finished first (%s)", Payloads.seedNote())
                    .isEqualTo(Payloads.sha256(fromTarget));
                OutputStream out = client.getOutputStream();
                out.write(fromClient);
                client.shutdownOutput();
                assertThat(requestBody.get(10, SECONDS)).as(Payloads.seedNote()).isEqualTo(Payloads.sha256(fromClient));
            }
            proxy.done().get(10, SECONDS);
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.COMPLETED);
        }
    }

    @Test
    void a403IsRefusedWithItsStatusEndToEndHeadersAndBody() throws Exception
    {
        String body = "forbidden by the upstream\n";
        String answer = "HTTP/1.1 403 Forbidden\r\n"
            + "Content-Type: text/plain\r\n"
            + "Connection: close\r\n"
            + "Content-Length: " + body.length() + "\r\n"
            + "\r\n"
            + body;
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(answer))))
        {
            TunnelException failure = failure(proxy, RESPONSE_TIMEOUT);

            assertThat(failure).isInstanceOf(UpstreamRefusedException.class);
            UpstreamRefusedException refused = (UpstreamRefusedException)failure;
            assertThat(refused.failure()).isEqualTo(TunnelFailure.UPSTREAM_REFUSED);
            assertThat(refused.status()).isEqualTo(403);
            assertThat(refused.headers().get(HttpHeader.CONTENT_TYPE)).isEqualTo("text/plain");
            assertThat(refused.headers().getFieldNamesCollection()).doesNotContain("Connection", "Content-Length");
            assertThat(BufferUtil.toString(refused.body(), StandardCharsets.US_ASCII)).isEqualTo(body);
            assertThat(refused.getMessage()).isEqualTo("upstream proxy " + proxy.authority() + " refused POST " + PATH + " for " + TARGET + ": 403 Forbidden");
        }
    }

    @ParameterizedTest(name = "answer: {0}")
    @ValueSource(strings = {
        "SSH-2.0-OpenSSH_9.6\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tcp\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    })
    void anAnswerThatCannotCarryTheTunnelIsAnUpstreamProtocolError(String answer) throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(answer))))
        {
            TunnelException failure = failure(proxy, RESPONSE_TIMEOUT);

            assertThat(failure.failure()).isEqualTo(TunnelFailure.UPSTREAM_PROTOCOL_ERROR);
            assertThat(failure.getMessage()).startsWith("POST " + PATH + " for " + TARGET + " via upstream proxy " + proxy.authority() + ": ");
        }
    }

    @Test
    void noAnswerWithinTheResponseTimeoutIsAConnectTimeout() throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.silent()))
        {
            TunnelException failure = failure(proxy, Duration.ofMillis(300));

            assertThat(failure.failure()).isEqualTo(TunnelFailure.CONNECT_TIMEOUT);
            assertThat(failure.getMessage()).isEqualTo("upstream proxy " + proxy.authority() + " did not answer POST " + PATH + " for " + TARGET + " within 300 ms");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"malformed chunk framing", "closed inside a chunk", "closed before the Content-Length", "reset"})
    void aBrokenResponseBodyResetsTheClient(String breakage) throws Exception
    {
        byte[] before = Payloads.random(1000);
        boolean malformed = breakage.startsWith("malformed");
        FakeProxy.Script script = (in, out, proxy) ->
        {
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            switch (breakage)
            {
                case "malformed chunk framing" ->
                {
                    answer.writeBytes(ascii(CHUNKED_200));
                    answer.writeBytes(chunk(before, ""));
                    answer.writeBytes(ascii("zz\r\nnot a chunk\r\n"));
                }
                case "closed inside a chunk" ->
                {
                    answer.writeBytes(ascii(CHUNKED_200));
                    answer.writeBytes(ascii(Integer.toHexString(before.length + 500) + "\r\n"));
                    answer.writeBytes(before);
                }
                case "closed before the Content-Length" ->
                {
                    answer.writeBytes(ascii("HTTP/1.1 200 OK\r\nContent-Length: " + (before.length + 500) + "\r\n\r\n"));
                    answer.writeBytes(before);
                }
                default ->
                {
                    answer.writeBytes(ascii(CHUNKED_200));
                    answer.writeBytes(chunk(before, ""));
                }
            }
            out.write(answer.toByteArray());
            out.flush();
            if (malformed)
            {
                // The tunnel fails on its own: until it closes the connection.
                in.transferTo(OutputStream.nullOutputStream());
                return;
            }
            // Until the client's bytes arrive: the tunnel is up and reading.
            assertThat(readChunk(in)).isNotNull();
            if (breakage.equals("reset"))
                proxy.socket().setSoLinger(true, 0);
        };
        try (FakeProxy proxy = new FakeProxy(script))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                if (!malformed)
                    client.getOutputStream().write(ascii("hello"));
                InputStream in = client.getInputStream();
                // The bytes before the breakage may come first, or be dropped with the reset.
                assertThatThrownBy(in::readAllBytes).as("the client's connection is reset, not ended")
                    .isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.UPSTREAM_RESET);
        }
    }

    @Test
    void aClientResetNeverLooksLikeTheEndOfTheRequestBody() throws Exception
    {
        CountDownLatch firstChunk = new CountDownLatch(1);
        FakeProxy.Script script = (in, out, proxy) ->
        {
            out.write(ascii(CHUNKED_200));
            out.flush();
            assertThat(readChunk(in)).isNotNull();
            firstChunk.countDown();
            // Throws once the tunnel resets the connection; a last chunk would return.
            while (readChunk(in) != null)
            {
                // drain
            }
            fail("the request body ended cleanly");
        };
        try (FakeProxy proxy = new FakeProxy(script))
        {
            Tunnel tunnel = harness.newTunnel(TARGET);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                client.getOutputStream().write(Payloads.random(5000));
                assertThat(firstChunk.await(10, SECONDS)).isTrue();
                client.setSoLinger(true, 0);
            }
            assertThatThrownBy(() -> proxy.done().get(10, SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(SocketException.class).hasMessageContaining("reset");
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.DOWNSTREAM_RESET);
        }
    }

    @Test
    void aQuietTunnelEndsOnItsIdleTimeoutThroughTheEndPoint() throws Exception
    {
        // The socket's idle timeout is the tunnel's: the expiry must reach the tunnel through
        // Http1PostConnection and the endpoint, and reset both sides.
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(CHUNKED_200))))
        {
            Tunnel tunnel = new Tunnel(TARGET, "test", TunnelConfig.DEFAULTS.withIdleTimeout(Duration.ofMillis(300)), harness.pool,
                harness.scheduler, harness.events);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketException.class).hasMessageContaining("reset");
            }
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
        }
    }

    /**
     * The client sends and ends its side cleanly; the proxy answered 200 but never reads the
     * request body nor sends more. With a small body the last chunk reaches the proxy's socket,
     * with a large one its write stays pending. Either way the tunnel ends on its idle timeout
     * and resets the client, instead of waiting for the proxy for ever.
     */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {1000, 32 << 20})
    void aCleanlyEndedTunnelToAStalledProxyEndsOnItsIdleTimeout(int size) throws Exception
    {
        try (FakeProxy proxy = new FakeProxy(FakeProxy.answerThenWait(ascii(CHUNKED_200))))
        {
            Tunnel tunnel = new Tunnel(TARGET, "test", TunnelConfig.DEFAULTS.withIdleTimeout(Duration.ofMillis(300)), harness.pool,
                harness.scheduler, harness.events);
            connect(proxy, TARGET, HttpFields.EMPTY, tunnel, RESPONSE_TIMEOUT).get(10, SECONDS);

            try (Socket client = harness.attachClient(tunnel))
            {
                CompletableFuture<Void> sent = harness.writeAsync(client.getOutputStream(), Payloads.random(size))
                    .thenRun(() ->
                    {
                        try
                        {
                            client.shutdownOutput();
                        }
                        catch (IOException x)
                        {
                            throw new java.io.UncheckedIOException(x);
                        }
                    });
                Throwable readFailure = null;
                try
                {
                    assertThat(client.getInputStream().read()).as("nothing but an end comes back").isEqualTo(-1);
                }
                catch (SocketException x)
                {
                    readFailure = x;
                }
                Throwable sendFailure = null;
                try
                {
                    sent.get(10, SECONDS);
                }
                catch (ExecutionException x)
                {
                    // The large body was still being written when the tunnel reset the client.
                    sendFailure = x.getCause();
                }
                // The reset is reported once, to the reading or the writing thread, whichever
                // meets it first; the other sees the end of the stream.
                assertThat(Stream.of(readFailure, sendFailure).filter(TunnelResetException::isTcpReset))
                    .as("a reset on read (%s) or on write (%s)", readFailure, sendFailure).isNotEmpty();
            }
            assertThat(awaitOutcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
        }
    }

    // ---- helpers ----

    /** Dials the server and installs the connection; the result is the POST's outcome. */
    private static Promise.Completable<Void> connect(FakeProxy proxy, String target, HttpFields headers, Tunnel tunnel, Duration timeout) throws Exception
    {
        Promise.Completable<Void> established = new Promise.Completable<>();
        harness.dial(proxy.authority(), harness.plain(Duration.ofSeconds(3)),
            Http1PostConnection.factory(harness.threads, harness.pool, harness.scheduler, PATH, target, headers, tunnel, timeout, established))
            .get(10, SECONDS);
        return established;
    }

    private static TunnelException failure(FakeProxy proxy, Duration timeout) throws Exception
    {
        return harness.failure(TARGET, tunnel -> connect(proxy, TARGET, HttpFields.EMPTY, tunnel, timeout), "POST via " + proxy.authority());
    }

    /** How the test's one tunnel ended (bounded wait). */
    private TunnelFailure awaitOutcome()
    {
        int before = closedBefore;
        Await.until("the tunnel's end", UpstreamHarness.WAIT, () -> harness.events.closed().size() > before, harness.events::closed);
        List<TunnelFailure> closed = harness.events.closed();
        assertThat(closed).as("tunnels ended by this test").hasSize(before + 1);
        return closed.get(before);
    }

    /** One chunk: size line (with {@code extension}), data, CRLF. */
    private static byte[] chunk(byte[] data, String extension)
    {
        ByteArrayOutputStream chunk = new ByteArrayOutputStream();
        chunk.writeBytes(ascii(Integer.toHexString(data.length) + extension + "\r\n"));
        chunk.writeBytes(data);
        chunk.writeBytes(ascii("\r\n"));
        return chunk.toByteArray();
    }

    /**
     * Reads one chunk of a request body, checking the framing Adit sends: a lower-case hex size
     * without extensions or leading zeros, CRLF line ends, no trailer.
     *
     * @return the chunk's data, or null after the last chunk
     */
    private static byte[] readChunk(InputStream in) throws IOException
    {
        String size = readLine(in);
        assertThat(size).as("chunk size line").matches("0|[1-9a-f][0-9a-f]*");
        int n = Integer.parseInt(size, 16);
        if (n == 0)
        {
            assertThat(readLine(in)).as("the end of the (empty) trailer section").isEmpty();
            return null;
        }
        byte[] data = in.readNBytes(n);
        if (data.length < n)
            throw new EOFException("EOF inside a chunk");
        assertThat(readLine(in)).as("CRLF after the chunk data").isEmpty();
        return data;
    }

    private static String readLine(InputStream in) throws IOException
    {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) != '\n'; )
        {
            if (b < 0)
                throw new EOFException("EOF in a chunk's framing after '" + line.toString(StandardCharsets.ISO_8859_1) + "'");
            line.write(b);
        }
        String text = line.toString(StandardCharsets.ISO_8859_1);
        assertThat(text).as("a line ending in CRLF").endsWith("\r");
        return text.substring(0, text.length() - 1);
    }

    private static byte[] ascii(String s)
    {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
