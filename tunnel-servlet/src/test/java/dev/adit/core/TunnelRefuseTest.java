package dev.adit.core;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.adit.config.TunnelConfig;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tunnel that never opens is reported once, with what its creator learnt: the contract the
 * access log (and the encapsulating side, which refuses tunnels from outside the handler)
 * relies on.
 */
class TunnelRefuseTest
{
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final TunnelListener recorder = new TunnelListener()
    {
        @Override
        public void onOpened(TunnelInfo tunnel)
        {
            events.add("opened " + tunnel.id());
        }

        @Override
        public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
        {
            events.add("closed " + tunnel.id());
        }

        @Override
        public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
        {
            events.add("refused " + tunnel.id() + " " + failure + " " + tunnel.responseCode() + " " + tunnel.upstreamCluster());
        }
    };

    private Tunnel newTunnel(TunnelListener listener)
    {
        return new Tunnel("example.com:443", "HTTP/1.1", TunnelConfig.DEFAULTS, new ArrayByteBufferPool(), new ScheduledExecutorScheduler(), listener);
    }

    @Test
    void aRefusedTunnelIsReportedOnceWithItsStatusAndCluster()
    {
        Tunnel tunnel = newTunnel(recorder);
        tunnel.setUpstreamCluster("backend");
        assertThat(tunnel.refuse(TunnelFailure.UPSTREAM_REFUSED, 407, new IOException("407 from upstream"))).isTrue();
        assertThat(tunnel.refuse(TunnelFailure.CONNECT_FAILED, 502, null)).isFalse();
        tunnel.dispose(null);
        tunnel.abort(TunnelFailure.SHUTDOWN, null);

        assertThat(events).containsExactly("refused " + tunnel.id() + " UPSTREAM_REFUSED 407 backend");
        assertThat(tunnel.responseCode()).isEqualTo(407);
        assertThat(tunnel.isOpen()).isFalse();
    }

    @Test
    void aDisposedTunnelReportsNothingAndCannotBeRefusedAfterwards()
    {
        Tunnel tunnel = newTunnel(recorder);
        tunnel.dispose(new IOException("test over"));
        assertThat(tunnel.refuse(TunnelFailure.NO_ROUTE, 404, null)).isFalse();

        assertThat(events).isEmpty();
        assertThat(tunnel.responseCode()).isZero();
    }

    @Test
    void theClientsAddressesAreKeptForTunnelsThatNeverGetAConnection()
    {
        Tunnel tunnel = newTunnel(recorder);
        InetSocketAddress client = new InetSocketAddress("127.0.0.1", 40000);
        InetSocketAddress local = new InetSocketAddress("127.0.0.1", 8080);
        tunnel.setDownstreamAddresses(client, local);
        tunnel.refuse(TunnelFailure.NO_ROUTE, 404, null);

        assertThat(tunnel.downstreamRemoteAddress()).isEqualTo(client);
        assertThat(tunnel.downstreamLocalAddress()).isEqualTo(local);
        assertThat(tunnel.upstreamAddress()).isNull();
        assertThat(tunnel.upstreamCluster()).isNull();
    }

    @Test
    void aFailingListenerDoesNotKeepTheNextFromTheEvent()
    {
        TunnelListener failing = new TunnelListener()
        {
            @Override
            public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
            {
                throw new IllegalStateException("listener bug");
            }
        };
        Tunnel tunnel = newTunnel(TunnelListener.all(failing, recorder));
        tunnel.refuse(TunnelFailure.DENIED, 403, null);

        assertThat(events).containsExactly("refused " + tunnel.id() + " DENIED 403 null");
    }
}
