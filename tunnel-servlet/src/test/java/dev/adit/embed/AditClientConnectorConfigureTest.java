package dev.adit.embed;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The upstream socket options: what a tunnel's socket needs, without the two Jetty sets on
 * every socket that only a socket bound to a chosen local address could notice.
 */
class AditClientConnectorConfigureTest
{
    @Test
    void anUnboundSocketGetsNoDelayAndNoAddressReuse() throws Exception
    {
        AditClientConnector connector = new AditClientConnector();
        try (SocketChannel channel = SocketChannel.open())
        {
            connector.configure(channel);
            assertThat(channel.getOption(StandardSocketOptions.TCP_NODELAY)).isTrue();
            assertThat(channel.getOption(StandardSocketOptions.SO_REUSEADDR)).isFalse();
            assertThat(channel.getOption(StandardSocketOptions.SO_REUSEPORT)).isFalse();
        }
    }

    @Test
    void configuredOptionsStillApply() throws Exception
    {
        AditClientConnector connector = new AditClientConnector();
        connector.setTCPNoDelay(false);
        connector.setReusePort(true);
        try (SocketChannel fresh = SocketChannel.open(); SocketChannel channel = SocketChannel.open())
        {
            // Sizes unlike a new socket's own, so that the check sees them applied.
            int receive = otherThan(fresh.getOption(StandardSocketOptions.SO_RCVBUF));
            int send = otherThan(fresh.getOption(StandardSocketOptions.SO_SNDBUF));
            connector.setReceiveBufferSize(receive);
            connector.setSendBufferSize(send);
            connector.configure(channel);
            assertThat(channel.getOption(StandardSocketOptions.TCP_NODELAY)).isFalse();
            assertThat(channel.getOption(StandardSocketOptions.SO_REUSEPORT)).isTrue();
            // Linux doubles what it is given, for its bookkeeping.
            assertThat(channel.getOption(StandardSocketOptions.SO_RCVBUF)).isBetween(receive, 2 * receive);
            assertThat(channel.getOption(StandardSocketOptions.SO_SNDBUF)).isBetween(send, 2 * send);
        }
    }

    /** @return a buffer size whose doubled value (as Linux reports it) is not {@code current} */
    private static int otherThan(int current)
    {
        int size = 24 * 1024;
        return size <= current && current <= 2 * size ? 96 * 1024 : size;
    }

    @Test
    void aSocketBoundToAChosenAddressIsConfiguredAsJettyDoes() throws Exception
    {
        AditClientConnector connector = new AditClientConnector();
        connector.setBindAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        try (SocketChannel channel = SocketChannel.open())
        {
            connector.configure(channel);
            assertThat(channel.getOption(StandardSocketOptions.TCP_NODELAY)).isTrue();
            assertThat(channel.getOption(StandardSocketOptions.SO_REUSEADDR)).isTrue();
        }
    }
}
