package dev.adit.core;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;

import org.eclipse.jetty.io.EndPoint;

/**
 * Ends one side of a tunnel abortively, so that the peer learns the tunnel failed rather than
 * completed: a TCP reset for sockets, RST_STREAM(CONNECT_ERROR) for HTTP/2 streams (RFC 9113
 * §8.5). The core knows only sockets; the handler supplies the HTTP/2 variant. An aborter
 * also tells how a pipe reads its side ({@link #newReader}), as that too differs for HTTP/2.
 */
@FunctionalInterface
public interface EndPointAborter
{
    /**
     * Closes a socket with SO_LINGER 0, which sends a TCP RST instead of a FIN. Under TLS the
     * raw socket is closed first, so no close_notify tells the peer that all is well.
     */
    EndPointAborter TCP_RESET = (endPoint, cause) ->
    {
        EndPoint network = network(endPoint);
        if (network.getTransport() instanceof NetworkChannel channel && channel.isOpen())
        {
            try
            {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            }
            catch (IOException | UnsupportedOperationException ignored)
            {
                // Closing normally is the best we can do.
            }
        }
        network.close(cause);
        if (network != endPoint)
            endPoint.close(cause);
    };

    void abort(EndPoint endPoint, Throwable cause);

    /**
     * @return how the pipe that takes bytes from {@code endPoint} reads them, a new reader for
     * each pipe; null (the default) for {@code endPoint.fill}. HTTP/2 streams have their own:
     * Jetty's stream endpoint releases a DATA frame twice when its {@code close} races a
     * {@code fill} ({@code Http2StreamReader}).
     */
    default SourceReader newReader(EndPoint endPoint)
    {
        return null;
    }

    /**
     * @return the endpoint of the socket under {@code endPoint}: itself, or the one under its TLS
     *         (and PROXY protocol) layers, at most four deep
     */
    static EndPoint network(EndPoint endPoint)
    {
        EndPoint network = endPoint;
        for (int depth = 0; network.getTransport() instanceof EndPoint inner && depth < 4; depth++)
            network = inner;
        return network;
    }
}
