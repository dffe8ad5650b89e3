package dev.adit.embed;

import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;

import dev.adit.core.ResetAwareEndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A {@link ServerConnector} whose sockets report a client's TCP reset ({@link ResetAwareEndPoint}),
 * so that an HTTP/1.1 tunnel resets the target instead of half-closing it. In a Jetty server
 * with stock connectors a client reset reads as end of input.
 */
public class AditServerConnector extends ServerConnector
{
    public AditServerConnector(Server server, ConnectionFactory... factories)
    {
        super(server, factories);
    }

    /**
     * A connector whose selector accepts connections itself, with no acceptor thread: Jetty's
     * acceptor thread hands every accepted socket to the selector, a thread wake-up per
     * connection. With the selector executing the opening of a socket in place
     * ({@link InPlaceExecutor}), a new connection is accepted, opened and read on one thread.
     *
     * @param executor the executor of this connector's selectors and connections ({@code null}:
     *                 the server's thread pool)
     */
    public AditServerConnector(Server server, Executor executor, ConnectionFactory... factories)
    {
        super(server, executor, null, null, 0, -1, factories);
    }

    @Override
    protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key)
    {
        SocketChannelEndPoint endPoint = new ResetAwareEndPoint(channel, selector, key, getScheduler());
        endPoint.setIdleTimeout(getIdleTimeout());
        return endPoint;
    }
}
