package dev.adit.handler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.adit.core.TunnelFailure;
import dev.adit.testing.Http2TunnelClient;
import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import dev.adit.testing.TunnelResetException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Extended CONNECT forms, the idle timeout and the maximum duration of tunnels. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TunnelLifecycleTest
{
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration SHORT = Duration.ofMillis(500);
    /** One-way traffic: a chunk every {@link #TRICKLE_PACE}, for three idle timeouts in all. */
    private static final Duration TRICKLE_PACE = Duration.ofMillis(100);
    private static final int TRICKLE_CHUNKS = 15;
    /** Sent to a stalled target: all of it fits in socket buffers; more than they hold (a write to the target stays pending). */
    private static final int[] STALL_SIZES = {1000, 32 << 20};

    private static TcpTarget echo;

    @BeforeAll
    static void start() throws Exception
    {
        echo = new TcpTarget(TcpTarget.echo());
    }

    @AfterAll
    static void stop() throws Exception
    {
        echo.close();
    }

    private static Http2TunnelClient h2Client(AditFixture adit, Transport transport) throws Exception
    {
        return TunnelClient.connectH2(transport, adit.address(transport),
            Http2TunnelClient.DEFAULT_STREAM_WINDOW, Http2TunnelClient.DEFAULT_SESSION_WINDOW);
    }

    @ParameterizedTest(name = "over {0}, the legacy :protocol=bytestream form tunnels byte-exact")
    @EnumSource(value = Transport.class, names = {"H2C", "H2"})
    void legacyBytestreamConnectIsTerminated(Transport transport) throws Exception
    {
        try (AditFixture adit = AditFixture.start();
             Http2TunnelClient client = h2Client(adit, transport))
        {
            byte[] payload = Payloads.random(200_000);
            Tunnel tunnel = client.openExtended(echo.authority(), "/", "bytestream", Map.of(), WAIT);
            assertThat(tunnel.status()).isEqualTo(200);
            tunnel.write(payload);
            tunnel.shutdownOutput();
            assertThat(tunnel.readToEnd(WAIT).sha256()).isEqualTo(Payloads.sha256(payload));
            client.close();
            adit.assertQuiescentWithoutLeaks();
        }
    }

    @ParameterizedTest(name = "over {0}, extended CONNECT with :protocol=websocket goes to the next handler")
    @EnumSource(value = Transport.class, names = {"H2C", "H2"})
    void otherExtendedConnectProtocolsPassThrough(Transport transport) throws Exception
    {
        try (AditFixture adit = AditFixture.start();
             Http2TunnelClient client = h2Client(adit, transport))
        {
            int acceptedBefore = echo.accepted();
            // Nothing after the tunnel handler here: Jetty's default answer for an unhandled request.
            Tunnel tunnel = client.openExtended(echo.authority(), "/chat", "websocket", Map.of(), WAIT);
            assertThat(tunnel.status()).isEqualTo(404);
            assertThat(adit.events.opened()).isZero();
            assertThat(echo.accepted()).isEqualTo(acceptedBefore);
        }
    }

    @ParameterizedTest(name = "over {0}, a quiet tunnel is reset after the idle timeout")
    @EnumSource(Transport.class)
    void aQuietTunnelIsResetAfterTheIdleTimeout(Transport transport) throws Exception
    {
        try (AditFixture adit = AditFixture.start(tunnel -> tunnel.withIdleTimeout(SHORT));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(echo.authority(), WAIT);
            tunnel.write(Payloads.random(10));
            assertThat(tunnel.readExactly(10, WAIT)).hasSize(10);
            // Now nobody sends.
            assertIdledOut(adit, client, tunnel, 10, 10);
        }
    }

    @ParameterizedTest(name = "over {0}, a tunnel that only uploads is not idle")
    @EnumSource(Transport.class)
    void uploadAloneKeepsATunnelOpen(Transport transport) throws Exception
    {
        // Both sides' idle timers must count what crosses them: the client's reads, the target's writes.
        try (TcpTarget sink = new TcpTarget(TcpTarget.discard());
             AditFixture adit = AditFixture.start(tunnel -> tunnel.withIdleTimeout(SHORT));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(sink.authority(), WAIT);
            byte[] chunk = Payloads.random(100);
            for (int i = 0; i < TRICKLE_CHUNKS; i++)
            {
                tunnel.write(chunk);
                // Nothing comes back, and above all no reset, between two chunks.
                assertThatThrownBy(() -> tunnel.read(new byte[16], TRICKLE_PACE)).isInstanceOf(java.util.concurrent.TimeoutException.class);
            }
            assertIdledOut(adit, client, tunnel, (long)TRICKLE_CHUNKS * chunk.length, 0);
        }
    }

    @ParameterizedTest(name = "over {0}, a tunnel that only downloads is not idle")
    @EnumSource(Transport.class)
    void downloadAloneKeepsATunnelOpen(Transport transport) throws Exception
    {
        // Both sides' idle timers must count what crosses them: the target's reads, the client's writes.
        int size = 100;
        try (TcpTarget trickle = new TcpTarget(TcpTarget.trickle(TRICKLE_CHUNKS, size, TRICKLE_PACE, 41));
             AditFixture adit = AditFixture.start(tunnel -> tunnel.withIdleTimeout(SHORT));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(trickle.authority(), WAIT);
            byte[] received = tunnel.readExactly(TRICKLE_CHUNKS * size, WAIT);
            assertThat(Payloads.sha256(received)).isEqualTo(TcpTarget.sha256OfStream((long)TRICKLE_CHUNKS * size, 41));
            assertIdledOut(adit, client, tunnel, 0, (long)TRICKLE_CHUNKS * size);
        }
    }

    /**
     * The client sends, ends its side, and the target never reads nor answers. With a small
     * payload everything reaches the target's socket and Adit waits for an answer; with a large
     * one a write to the target stays pending. Either way the client's side may have no timer
     * left (its stream or request is done), so the target's side must idle the tunnel out.
     */
    @ParameterizedTest(name = "over {0}, a tunnel whose client ended and whose target stalls idles out after {1} bytes")
    @MethodSource("transportsAndStallSizes")
    void aHalfClosedTunnelToAStalledTargetIdlesOut(Transport transport, int size) throws Exception
    {
        try (TcpTarget stalled = new TcpTarget(TcpTarget.stall());
             AditFixture adit = AditFixture.start(tunnel -> tunnel.withIdleTimeout(SHORT));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(stalled.authority(), WAIT);
            tunnel.sendEndAndAwaitReset(Payloads.random(size), WAIT);
            AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
            assertThat(closed.outcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
            assertThat(closed.fromUpstream()).isZero();
            client.close();
            adit.assertQuiescentWithoutLeaks();
        }
    }

    static List<Arguments> transportsAndStallSizes()
    {
        List<Arguments> arguments = new ArrayList<>();
        for (Transport transport : Transport.values())
        {
            for (int size : STALL_SIZES)
                arguments.add(Arguments.of(transport, size));
        }
        return arguments;
    }

    /**
     * The client's read ends with a reset (not data, not a clean EOF), Adit reports the idle
     * timeout with the bytes each way, and nothing is left behind.
     */
    private static void assertIdledOut(AditFixture adit, TunnelClient client, Tunnel tunnel, long fromDownstream, long fromUpstream) throws Exception
    {
        assertThatThrownBy(() -> tunnel.read(new byte[16], WAIT)).isInstanceOf(TunnelResetException.class);
        AditFixture.Events.Closed closed = adit.events.awaitClosed(1, WAIT).get(0);
        assertThat(closed.outcome()).isEqualTo(TunnelFailure.IDLE_TIMEOUT);
        assertThat(closed.fromDownstream()).isEqualTo(fromDownstream);
        assertThat(closed.fromUpstream()).isEqualTo(fromUpstream);
        client.close();
        adit.assertQuiescentWithoutLeaks();
    }

    @ParameterizedTest(name = "over {0}, a tunnel is reset when it reaches its maximum duration")
    @EnumSource(Transport.class)
    void aTunnelEndsAtItsMaximumDuration(Transport transport) throws Exception
    {
        try (AditFixture adit = AditFixture.start(tunnel -> tunnel.withMaxDuration(SHORT));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(echo.authority(), WAIT);
            long start = System.nanoTime();
            assertThatThrownBy(() -> tunnel.read(new byte[16], WAIT)).isInstanceOf(TunnelResetException.class);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(SHORT.toMillis() - 50);
            assertThat(adit.events.awaitClosed(1, WAIT).get(0).outcome()).isEqualTo(TunnelFailure.MAX_DURATION);
            client.close();
            adit.assertQuiescentWithoutLeaks();
        }
    }

    @ParameterizedTest(name = "over {0}, a quiet tunnel outlives the connection idle timeout")
    @EnumSource(Transport.class)
    void aQuietTunnelOutlivesTheConnectionIdleTimeout(Transport transport) throws Exception
    {
        // Connections idle out after 300 ms; tunnels only after an hour. An HTTP/2 session
        // counts as idle when no frame moves, open streams or not, so the handler must lift it.
        try (AditFixture adit = AditFixture.start(tunnel -> tunnel, Duration.ofMillis(300));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(echo.authority(), WAIT);
            // Nothing moves for five connection idle timeouts: the read times out, nothing else.
            assertThatThrownBy(() -> tunnel.read(new byte[16], Duration.ofMillis(1500)))
                .isInstanceOf(java.util.concurrent.TimeoutException.class);
            byte[] payload = Payloads.random(1000);
            tunnel.write(payload);
            assertThat(tunnel.readExactly(payload.length, WAIT)).isEqualTo(payload);
            tunnel.shutdownOutput();
            assertThat(tunnel.readToEnd(WAIT).count()).isZero();
            client.close();
            adit.assertQuiescentWithoutLeaks();
        }
    }
}
