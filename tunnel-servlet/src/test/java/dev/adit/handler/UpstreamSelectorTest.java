package dev.adit.handler;

import java.io.EOFException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.TrustAll;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tunnel's upstream socket is served by the selector of the listener that serves its client
 * side, not by the upstream client connector's own selector: both sides of a tunnel run on one
 * thread ({@code AditClientConnector}). Counted in the selectors' registered sockets while
 * tunnels are held open, each checked end to end with a random payload.
 *
 * <p>Behind TLS, Jetty's {@code SslConnection} runs a request that came with the end of the
 * handshake on the thread pool: its tunnel's socket still goes to the selector serving the
 * client's socket.</p>
 */
class UpstreamSelectorTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int TUNNELS = 4;

    @RegisterExtension
    final AditFixtures started = new AditFixtures();

    @ParameterizedTest(name = "over {0}")
    @EnumSource(Transport.class)
    void heldTunnelsUpstreamSocketsAreRegisteredWithTheListenersSelector(Transport transport) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        assertUpstreamSocketsOnTheListenersSelector(transport, echo.authority());
    }

    /** A name is resolved on the pool: the connect made there still goes to the selector of the tunnel's client side. */
    @ParameterizedTest(name = "over {0}")
    @EnumSource(value = Transport.class, names = {"HTTP1", "HTTP1_TLS"})
    void soDoThoseOfTargetsGivenByName(Transport transport) throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        assertUpstreamSocketsOnTheListenersSelector(transport, "localhost:" + echo.port());
    }

    /**
     * A CONNECT sent in the same TCP write as the client's TLS Finished is decrypted with the
     * handshake's end, and Jetty's {@code SslConnection} runs it on the thread pool: its
     * tunnel's upstream socket still goes to the listener's selector (the request's socket's).
     */
    @Test
    void soDoThoseWhoseRequestCameWithTheEndOfTheHandshake() throws Exception
    {
        TcpTarget echo = started.add(new TcpTarget(TcpTarget.echo()));
        AditFixture adit = started.adit(Map.of());
        ClientConnector upstream = adit.server.getContainedBeans(ClientConnector.class).iterator().next();
        InetSocketAddress address = adit.address(Transport.HTTP1_TLS);
        SSLEngine engine = TrustAll.sslContext().createSSLEngine(address.getHostString(), address.getPort());
        engine.setUseClientMode(true);
        engine.setEnabledProtocols(new String[] {"TLSv1.3"});
        try (SocketChannel channel = SocketChannel.open(address))
        {
            channel.socket().setSoTimeout((int)TIMEOUT.toMillis());
            RawTls tls = new RawTls(engine, channel);
            byte[] connect = ("CONNECT " + echo.authority() + " HTTP/1.1\r\nHost: " + echo.authority() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            tls.handshakeThenSendWithFinished(connect);
            assertThat(tls.readUntil("\r\n\r\n")).startsWith("HTTP/1.1 200");

            byte[] payload = Payloads.random(1024, Payloads.seed());
            tls.send(payload);
            assertThat(Payloads.sha256(tls.readExactly(payload.length))).isEqualTo(Payloads.sha256(payload));
            assertThat(registered(upstream)).as("sockets on the client connector's own selectors").isZero();
        }
    }

    /** A TLS 1.3 client over a blocking socket that can send its first request with its Finished. */
    private static final class RawTls
    {
        private final SSLEngine engine;
        private final SocketChannel channel;
        private final ByteBuffer netIn = ByteBuffer.allocate(64 * 1024);
        private final ByteBuffer appIn = ByteBuffer.allocate(64 * 1024);

        private RawTls(SSLEngine engine, SocketChannel channel)
        {
            this.engine = engine;
            this.channel = channel;
            netIn.flip();
            appIn.flip();
        }

        void handshakeThenSendWithFinished(byte[] request) throws Exception
        {
            engine.beginHandshake();
            while (true)
            {
                switch (engine.getHandshakeStatus())
                {
                    case NEED_WRAP ->
                    {
                        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
                        SSLEngineResult result = engine.wrap(ByteBuffer.allocate(0), out);
                        out.flip();
                        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED)
                        {
                            // The Finished and the request leave in one write, so arrive together.
                            ByteBuffer data = wrap(request);
                            ByteBuffer[] both = {out, data};
                            while (out.hasRemaining() || data.hasRemaining())
                                channel.write(both);
                            return;
                        }
                        while (out.hasRemaining())
                            channel.write(out);
                    }
                    case NEED_UNWRAP -> unwrapSome();
                    case NEED_TASK ->
                    {
                        for (Runnable task; (task = engine.getDelegatedTask()) != null; )
                            task.run();
                    }
                    default -> throw new IllegalStateException("handshake ended before the client's Finished: " + engine.getHandshakeStatus());
                }
            }
        }

        void send(byte[] bytes) throws Exception
        {
            ByteBuffer data = wrap(bytes);
            while (data.hasRemaining())
                channel.write(data);
        }

        private ByteBuffer wrap(byte[] bytes) throws Exception
        {
            ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize() * 2);
            ByteBuffer in = ByteBuffer.wrap(bytes);
            while (in.hasRemaining())
                engine.wrap(in, out);
            return out.flip();
        }

        /** Reads from the socket until the engine makes progress (a record, or post-handshake messages). */
        private void unwrapSome() throws Exception
        {
            while (true)
            {
                appIn.compact();
                SSLEngineResult result = engine.unwrap(netIn, appIn);
                appIn.flip();
                if (result.getStatus() == SSLEngineResult.Status.CLOSED)
                    throw new EOFException("TLS closed");
                if (result.getStatus() == SSLEngineResult.Status.OK && (result.bytesProduced() > 0 || result.bytesConsumed() > 0))
                    return;
                netIn.compact();
                int read = channel.socket().getInputStream().read(netIn.array(), netIn.position(), netIn.remaining());
                if (read < 0)
                    throw new EOFException("connection closed");
                netIn.position(netIn.position() + read);
                netIn.flip();
            }
        }

        String readUntil(String end) throws Exception
        {
            StringBuilder text = new StringBuilder();
            while (text.indexOf(end) < 0)
            {
                while (!appIn.hasRemaining())
                    unwrapSome();
                text.append((char)(appIn.get() & 0xFF));
            }
            return text.toString();
        }

        byte[] readExactly(int n) throws Exception
        {
            byte[] out = new byte[n];
            for (int at = 0; at < n; )
            {
                while (!appIn.hasRemaining())
                    unwrapSome();
                int chunk = Math.min(n - at, appIn.remaining());
                appIn.get(out, at, chunk);
                at += chunk;
            }
            return out;
        }
    }

    private void assertUpstreamSocketsOnTheListenersSelector(Transport transport, String target) throws Exception
    {
        AditFixture adit = started.adit(Map.of());
        ServerConnector listener = listener(adit, transport);
        ClientConnector upstream = adit.server.getContainedBeans(ClientConnector.class).iterator().next();
        TunnelClient client = started.add(TunnelClient.connect(transport, adit.address(transport)));
        int listenerBefore = registered(listener.getSelectorManager());

        List<Tunnel> tunnels = new ArrayList<>();
        for (int i = 0; i < TUNNELS; i++)
        {
            Tunnel tunnel = started.add(client.open(target, TIMEOUT));
            assertThat(tunnel.status()).isEqualTo(200);
            byte[] payload = Payloads.random(1024, Payloads.seed() + i);
            tunnel.write(payload);
            assertThat(Payloads.sha256(tunnel.readExactly(payload.length, TIMEOUT))).isEqualTo(Payloads.sha256(payload));
            tunnels.add(tunnel);
        }

        // Each tunnel added its upstream socket, and over HTTP/1.1 its own client connection (at
        // least: a socket closed just before still counts until the selector's next select).
        int perTunnel = transport.isHttp2() ? 1 : 2;
        assertThat(registered(listener.getSelectorManager()) - listenerBefore).isGreaterThanOrEqualTo(TUNNELS * perTunnel);
        assertThat(registered(upstream)).as("sockets on the client connector's own selectors").isZero();
        for (Tunnel tunnel : tunnels)
            tunnel.close();
    }

    private static ServerConnector listener(AditFixture adit, Transport transport)
    {
        int port = adit.address(transport).getPort();
        for (var connector : adit.server.getConnectors())
        {
            if (connector instanceof ServerConnector server && server.getLocalPort() == port)
                return server;
        }
        throw new AssertionError("no listener on port " + port);
    }

    /** @return the sockets (and listening channels) registered with the selectors under {@code container} */
    private static int registered(ContainerLifeCycle container)
    {
        return container.getContainedBeans(ManagedSelector.class).stream().mapToInt(ManagedSelector::size).sum();
    }
}
