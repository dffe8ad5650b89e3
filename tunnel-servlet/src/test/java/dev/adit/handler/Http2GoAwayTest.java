package dev.adit.handler;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.adit.core.TunnelFailure;
import dev.adit.log.JsonLine;
import dev.adit.testing.Http2Tunnel;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client's GOAWAY (RFC 9113 §6.8) closes its connection gracefully: the tunnels already open
 * go on, and the connection ends once they have, or at once when the client then closes it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2GoAwayTest
{
    private static final Duration WAIT = Duration.ofSeconds(10);
    /** Well below the connections' idle timeout (30 s), which would close them anyway. */
    private static final Duration PROMPTLY = Duration.ofSeconds(5);

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    /**
     * After the client's GOAWAY an echo tunnel still echoes and a download still flows; when the
     * client then closes its TCP connection, both tunnels end at once: each target sees its
     * connection closed, each tunnel is reported reset by the client and has its access-log line.
     */
    @ParameterizedTest(name = "over {0}, tunnels outlive the client's GOAWAY and end when its connection closes")
    @EnumSource(value = Transport.class, names = {"H2C", "H2"})
    void tunnelsOutliveTheClientsGoAwayAndEndWhenItsConnectionCloses(Transport transport) throws Exception
    {
        AditFixture adit = started.add(AditFixture.start());
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        TcpTarget source = started.add(new TcpTarget(TcpTarget.stream(Long.MAX_VALUE, 1)));
        Http2TunnelClient client = started.add(TunnelClient.connectH2(transport, adit.address(transport),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
        Http2Tunnel echoed = client.open(echo.authority(), Map.of(), null, WAIT);
        Http2Tunnel download = client.open(source.authority(), Map.of(), null, WAIT);
        download.readExactly(1 << 20, WAIT);

        assertThat(client.session().close(ErrorCode.NO_ERROR.code, "leaving", Callback.NOOP)).as("GOAWAY sent").isTrue();

        byte[] ping = Payloads.random(1000);
        echoed.write(ping, WAIT);
        assertThat(echoed.readExactly(ping.length, WAIT)).isEqualTo(ping);
        download.readExactly(1 << 20, WAIT);
        assertThat(client.goAway()).as("GOAWAY from Adit while tunnels are open").isNotDone();

        ((HTTP2Session)client.session()).disconnect();

        echo.closed(0).get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS);
        source.closed(0).get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS);
        List<AditFixture.Events.Closed> closed = adit.events.awaitClosed(2, PROMPTLY);
        assertThat(closed).extracting(AditFixture.Events.Closed::outcome).containsOnly(TunnelFailure.DOWNSTREAM_RESET);
        assertThat(adit.accessLog.all()).hasSize(2).allSatisfy(line ->
            assertThat(JsonLine.parse(line)).containsEntry("response_code_details", TunnelFailure.DOWNSTREAM_RESET.code()));
        assertThat(adit.awaitNoHttp2Streams(PROMPTLY)).isEmpty();
    }

    /**
     * After the client's GOAWAY, once its last tunnel has ended cleanly, Adit answers with its
     * own GOAWAY and closes the connection, rather than keeping it until the idle timeout: Jetty
     * 12.1.12 kept a tunnel's stream registered when the tunnel closed it before its END_STREAM
     * was written (jetty/jetty.project#15657), so the session never saw zero streams. Twenty
     * connections, since that took a race.
     */
    @ParameterizedTest(name = "over {0}, a connection closes once the tunnels it had at the client's GOAWAY ended")
    @EnumSource(value = Transport.class, names = {"H2C", "H2"})
    void aConnectionClosesOnceTheTunnelsItHadAtTheClientsGoAwayEnded(Transport transport) throws Exception
    {
        AditFixture adit = started.add(AditFixture.start());
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        Http2TunnelClient client = started.add(TunnelClient.connectH2(transport, adit.address(transport),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW));
        for (int i = 0; i < 20; i++)
        {
            CompletableFuture<GoAwayFrame> closed = new CompletableFuture<>();
            Session session = Http2TunnelClient.connect(client.client(), transport, adit.address(transport), new Http2TunnelClient.PeerSettingsListener()
            {
                @Override
                public void onClose(Session session, GoAwayFrame frame, Callback callback)
                {
                    closed.complete(frame);
                    super.onClose(session, frame, callback);
                }
            }).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            ScriptedConnectStream tunnel = new ScriptedConnectStream(64, 64, i).within(WAIT).open(session, echo.authority());
            tunnel.established().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            session.close(ErrorCode.NO_ERROR.code, "leaving", Callback.NOOP);

            ScriptedConnectStream.Result result = tunnel.done().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(result.receivedSha256()).isEqualTo(result.sentSha256());
            assertThat(closed.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS)).as("connection %d closed by Adit", i).isNotNull();
        }
        assertThat(adit.events.awaitClosed(20, WAIT)).extracting(AditFixture.Events.Closed::outcome).containsOnly(TunnelFailure.COMPLETED);
    }
}
