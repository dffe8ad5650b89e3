package dev.adit.handler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.adit.testing.Payloads;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
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
