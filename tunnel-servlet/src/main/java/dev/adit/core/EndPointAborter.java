package dev.adit.core;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;

import org.eclipse.jetty.io.EndPoint;

/**
 * Ends one side of a tunnel abortively, so that the peer learns the tunnel failed rather than
 * completed: a TCP reset for sockets, RST_STREAM(CONNECT_ERROR) for HTTP/2 streams (RFC 9113
 * §8.5). The core knows only sockets; the handler supplies the HTTP/2 variant.
 */
@FunctionalInterface
public interface EndPointAborter
{
    /** Closes a socket with SO_LINGER 0, which sends a TCP RST instead of a FIN. */
    EndPointAborter TCP_RESET = (endPoint, cause) ->
    {
        if (transportChannel(endPoint) instanceof NetworkChannel channel && channel.isOpen())
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
        endPoint.close(cause);
    };

    void abort(EndPoint endPoint, Throwable cause);

    private static Object transportChannel(EndPoint endPoint)
    {
        Object transport = endPoint.getTransport();
        // A TLS endpoint's transport is the encrypted endpoint below it.
        for (int depth = 0; transport instanceof EndPoint inner && depth < 4; depth++)
            transport = inner.getTransport();
        return transport;
    }
}
