package dev.adit.handler;

import java.time.Duration;
import java.util.Map;

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
 * An HTTP/1.1 CONNECT goes to its request-target whatever its Host field says (RFC 9112 §3.3),
 * as with Envoy and squid; Jetty's default compliance would answer 400 "Authority!=Host".
 */
class ConnectHostTest
{
    private static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    @ParameterizedTest(name = "over {0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "HTTP1_TLS"})
    void aHostOtherThanTheTargetIsIgnored(Transport transport) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        AditFixture adit = started.adit(Map.of());
        TunnelClient client = started.add(TunnelClient.connect(transport, adit.address(transport)));
        Tunnel tunnel = started.add(client.open(echo.authority(), Map.of("Host", "elsewhere.example:443"), WAIT));

        assertThat(tunnel.status()).isEqualTo(200);
        byte[] payload = Payloads.random(4096, Payloads.seed());
        tunnel.write(payload);
        assertThat(Payloads.sha256(tunnel.readExactly(payload.length, WAIT))).isEqualTo(Payloads.sha256(payload));
        tunnel.close();
        assertThat(JsonLine.parse(adit.accessLog.next(WAIT)))
            .containsEntry("authority", echo.authority())
            .containsEntry("response_code", 200L);
        assertThat(echo.accepted()).isEqualTo(1);
    }
}
