package dev.adit.handler;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import dev.adit.core.TunnelFailure;
import dev.adit.log.JsonLine;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An HTTP/1.1 CONNECT that announces request content is refused with 400
 * ({@code connect_with_content}, flag DPE) before anything is dialled: Jetty would read the
 * bytes after the head as the request's content, and they would reach neither the target nor
 * the client, silently. A {@code Content-Length: 0} announces nothing and is tunnelled as usual.
 * Over HTTP/2 a CONNECT stream's DATA are the tunnel's bytes whatever its {@code content-length}
 * says, so nothing is lost and nothing is refused.
 */
class ConnectContentTest
{
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.US_ASCII);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    @ParameterizedTest(name = "over {0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "HTTP1_TLS"})
    void aContentLengthIsRefusedWith400(Transport transport) throws Exception
    {
        assertRefused(transport, Map.of("Content-Length", "5"));
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "HTTP1_TLS"})
    void aChunkedContentIsRefusedWith400(Transport transport) throws Exception
    {
        assertRefused(transport, Map.of("Transfer-Encoding", "chunked"));
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(value = Transport.class, names = {"H2C", "H2"})
    void overHttp2TheDataOfAStreamWithAContentLengthAreTunnelled(Transport transport) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(transport, adit.address(transport)));
        Tunnel tunnel = started.add(client.open(echo.authority(), Map.of("Content-Length", "5"), HELLO, WAIT));
        assertThat(tunnel.status()).isEqualTo(200);
        assertThat(tunnel.readExactly(HELLO.length, WAIT)).isEqualTo(HELLO);
        byte[] payload = Payloads.random(4096, Payloads.seed());
        tunnel.write(payload);
        assertThat(Payloads.sha256(tunnel.readExactly(payload.length, WAIT))).isEqualTo(Payloads.sha256(payload));
        tunnel.close();
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport.class)
    void aContentLengthOfZeroIsTunnelled(Transport transport) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(transport, adit.address(transport)));
        Tunnel tunnel = started.add(client.open(echo.authority(), Map.of("Content-Length", "0"), WAIT));
        assertThat(tunnel.status()).isEqualTo(200);
        byte[] payload = Payloads.random(4096, Payloads.seed());
        tunnel.write(payload);
        assertThat(Payloads.sha256(tunnel.readExactly(payload.length, WAIT))).isEqualTo(Payloads.sha256(payload));
        tunnel.close();
    }

    private void assertRefused(Transport transport, Map<String, String> headers) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(transport, adit.address(transport)));
        byte[] content = headers.containsKey("Transfer-Encoding") ? "5\r\nhello\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII) : HELLO;
        Tunnel tunnel = started.add(client.open(echo.authority(), headers, content, WAIT));

        assertThat(tunnel.status()).isEqualTo(400);
        String line = adit.accessLog.next(WAIT);
        assertThat(JsonLine.parse(line))
            .containsEntry("response_code", 400L)
            .containsEntry("response_flags", "DPE")
            .containsEntry("response_code_details", "connect_with_content");
        // The line is written just before the event.
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (adit.events.refused().isEmpty() && System.nanoTime() - deadline < 0)
            adit.events.awaitChange(100);
        assertThat(adit.events.refused()).singleElement()
            .satisfies(refused -> assertThat(refused.failure()).isEqualTo(TunnelFailure.CONNECT_WITH_CONTENT));
        assertThat(echo.accepted()).as("connections the target accepted").isZero();
        tunnel.close();
    }
}
