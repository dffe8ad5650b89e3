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
        connector.setReceiveBufferSize(64 * 1024);
        connector.setSendBufferSize(32 * 1024);
        try (SocketChannel channel = SocketChannel.open())
        {
            connector.configure(channel);
            assertThat(channel.getOption(StandardSocketOptions.TCP_NODELAY)).isFalse();
            assertThat(channel.getOption(StandardSocketOptions.SO_REUSEPORT)).isTrue();
            // Linux doubles what it is given, for its bookkeeping.
            assertThat(channel.getOption(StandardSocketOptions.SO_RCVBUF)).isGreaterThanOrEqualTo(64 * 1024);
            assertThat(channel.getOption(StandardSocketOptions.SO_SNDBUF)).isGreaterThanOrEqualTo(32 * 1024);
        }
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
