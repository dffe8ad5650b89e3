package dev.adit.embed;

import java.io.IOException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Executor;

import dev.adit.core.ResetAwareEndPoint;
import dev.adit.upstream.Affinity;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A {@link ServerConnector} whose sockets report a client's TCP reset ({@link ResetAwareEndPoint}),
 * so that an HTTP/1.1 tunnel resets the target instead of half-closing it. In a Jetty server
 * with stock connectors a client reset reads as end of input.
 *
 * <p>Created with Adit's {@link InPlaceExecutor} (Adit's own listeners), its selectors also
 * serve the upstream sockets of the tunnels whose requests they read
 * ({@link AditClientConnector}): such a socket is registered with the selector serving its
 * tunnel's client socket ({@link Affinity}), and its endpoint and connection are made by the
 * client connector's rules. They are not this connector's connections: not counted, not listed, not in its statistics; they
 * are closed with the selector if it stops first.</p>
 */
public class AditServerConnector extends ServerConnector
{
    /** The connect this thread is handing to a listener's selector, while it does. */
    private static final ThreadLocal<Serving> SERVING = new ThreadLocal<>();

    /** A client connector's connect, handed to one of the listener selectors. */
    private record Serving(AditClientConnector client, HostSelector selector)
    {
    }

    public AditServerConnector(Server server, ConnectionFactory... factories)
    {
        super(server, factories);
    }

    /**
     * A connector whose selector accepts connections itself, with no acceptor thread: Jetty's
     * acceptor thread hands every accepted socket to the selector, a thread wake-up per
     * connection. With the selector executing the opening of a socket in place
     * ({@link InPlaceExecutor}), a new connection is accepted, opened and read on one thread
     * (with several selectors, on 4 cores or more, accepted sockets are still dealt to them in
     * turn by the one that accepts).
     *
     * @param executor the executor of this connector's selectors and connections ({@code null}:
     *                 the server's thread pool)
     */
    public AditServerConnector(Server server, Executor executor, ConnectionFactory... factories)
    {
        super(server, executor, null, null, 0, -1, factories);
    }

    @Override
    protected SelectorManager newSelectorManager(Executor executor, Scheduler scheduler, int selectors)
    {
        // Called by ServerConnector's constructor: only the arguments are set yet.
        return executor instanceof InPlaceExecutor ? new HostingManager(executor, scheduler, selectors) : super.newSelectorManager(executor, scheduler, selectors);
    }

    @Override
    protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key)
    {
        SocketChannelEndPoint endPoint = new ResetAwareEndPoint(channel, selector, key, getScheduler());
        endPoint.setIdleTimeout(getIdleTimeout());
        return endPoint;
    }

    /**
     * Registers a client connector's pending connect with {@code home}, the listener selector
     * serving its tunnel's client socket, from any thread (a name resolved on the pool, a retry
     * on the scheduler): the selector is woken if it is not the caller.
     *
     * @param home what the dial captured as its home ({@link Affinity}); only a running listener
     *             selector of this class is used
     * @return false when {@code home} is not a running listener selector: the client connector
     *         serves it
     */
    static boolean serveOn(AditClientConnector client, Object home, SelectableChannel channel, Object attachment)
    {
        if (!(home instanceof HostSelector selector) || !selector.isRunning())
            return false;
        SERVING.set(new Serving(client, selector));
        try
        {
            selector.manager.connect(channel, attachment);
        }
        finally
        {
            // Cleared, not removed: once per tunnel, a removal would cost a new map entry at the next set.
            SERVING.set(null);
        }
        return true;
    }

    /** A listener selector, which the client connector's sockets may be given to ({@link #serveOn}). */
    private static final class HostSelector extends ManagedSelector
    {
        private final HostingManager manager;

        private HostSelector(HostingManager manager, int id)
        {
            super(manager, id);
            this.manager = manager;
        }
    }

    /**
     * The listener's selector manager, which also makes the endpoints and connections of the
     * client connector's sockets it is given ({@link #serveOn}), as
     * {@code ClientConnector.ClientSelectorManager} would.
     */
    private final class HostingManager extends ServerConnectorManager
    {
        private HostingManager(Executor executor, Scheduler scheduler, int selectors)
        {
            super(executor, scheduler, selectors);
        }

        @Override
        protected ManagedSelector newSelector(int id)
        {
            return new HostSelector(this, id);
        }

        @Override
        protected ManagedSelector chooseSelector()
        {
            // A client's socket goes to the selector serving its tunnel's client side.
            Serving serving = SERVING.get();
            return serving != null ? serving.selector() : super.chooseSelector();
        }

        @Override
        public long getConnectTimeout()
        {
            // Read when a pending connect is registered: the client connector's bound applies.
            Serving serving = SERVING.get();
            return serving == null ? super.getConnectTimeout() : serving.client().getConnectTimeout().toMillis();
        }

        @Override
        protected SocketChannelEndPoint newEndPoint(SelectableChannel channel, ManagedSelector selector, SelectionKey key) throws IOException
        {
            AditClientConnector client = AditClientConnector.of(key.attachment());
            if (client == null)
                return super.newEndPoint(channel, selector, key);
            EndPoint endPoint = client.newUpstreamEndPoint(channel, selector, key);
            if (endPoint instanceof SocketChannelEndPoint socket)
                return socket;
            endPoint.close();
            throw new IOException("not a socket endpoint: " + endPoint);
        }

        @Override
        public Connection newConnection(SelectableChannel channel, EndPoint endPoint, Object attachment) throws IOException
        {
            AditClientConnector client = AditClientConnector.of(attachment);
            return client == null ? super.newConnection(channel, endPoint, attachment) : client.newUpstreamConnection(endPoint, attachment);
        }

        @Override
        public void connectionOpened(Connection connection, Object context)
        {
            AditClientConnector client = AditClientConnector.of(context);
            if (client == null)
                super.connectionOpened(connection, context);
            else
                client.upstreamOpened(connection, context, () -> super.connectionOpened(connection, context));
        }

        @Override
        protected void connectionFailed(SelectableChannel channel, Throwable failure, Object attachment)
        {
            AditClientConnector client = AditClientConnector.of(attachment);
            super.connectionFailed(channel, failure, attachment);
            if (client != null)
                client.upstreamConnectFailed(channel, failure, attachment);
        }

        @Override
        protected void endPointOpened(EndPoint endPoint)
        {
            if (!isUpstream(endPoint))
                super.endPointOpened(endPoint);
        }

        @Override
        protected void endPointClosed(EndPoint endPoint)
        {
            if (!isUpstream(endPoint))
                super.endPointClosed(endPoint);
        }

        private static boolean isUpstream(EndPoint endPoint)
        {
            return endPoint instanceof ResetAwareEndPoint socket && socket.isUpstream();
        }
    }
}
