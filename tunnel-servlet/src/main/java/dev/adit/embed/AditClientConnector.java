package dev.adit.embed;

import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.NetworkChannel;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.util.Map;

import dev.adit.upstream.TcpUpstream;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SelectorManager;
import org.eclipse.jetty.util.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adit's upstream client connector: a tunnel's upstream socket is served by the selector that
 * serves its client side, like a worker of Envoy's that runs both sides of a connection.
 *
 * <p>Why: with a selector of its own, every tunnel crossed between two threads several times
 * (the connect handed to the client's selector, the answer and the client side's read interest
 * handed back, the close of the upstream socket waking the client's selector), each a thread
 * wake-up and, on a busy machine, a context switch; on two cores the switches cost more than
 * the tunnel's own work.</p>
 *
 * <p>How: the tunnel handler names the selector serving the request's socket
 * ({@code dev.adit.upstream.Affinity}), whichever thread handles the request (Jetty's TLS layer
 * runs some on the pool); the dial captures it and puts it in its connect's context ({@link TcpUpstream#LOCAL_SELECTOR_CONTEXT_KEY}); whichever
 * thread then connects (the same one for an IP address, a pool thread once a name is resolved,
 * the scheduler's for a retry), the socket is registered with that selector, which makes its
 * endpoint and connection the way this connector would. Pooled HTTP/2 sessions (shared by many
 * tunnels), sockets that connect at once, and dials for other servers' connectors (a stock
 * Jetty server's, the encapsulating listeners) are served by this connector's own selectors as
 * usual.</p>
 *
 * <p>Sockets served by a listener's selector are closed when that listener stops (Adit's
 * server stops its listeners first), not when this connector stops on its own; and this
 * connector's connect listeners hear of their connect's start and failure, not of its
 * success.</p>
 */
public class AditClientConnector extends ClientConnector
{
    private static final Logger LOG = LoggerFactory.getLogger(AditClientConnector.class);

    /**
     * Sets what a socket that is not bound to a chosen local address needs: Jetty's own
     * {@code configure} also sets {@code SO_REUSEADDR} (on by default) and
     * {@code SO_REUSEPORT} (off, as a new socket already is) on every socket, two system calls
     * per tunnel that only a socket bound to a given address and port could notice. Mirrors
     * {@code ClientConnector.configure} of Jetty 12.1.12 otherwise: an option a later Jetty sets
     * there must be added here.
     */
    @Override
    protected void configure(SelectableChannel selectable) throws IOException
    {
        if (getBindAddress() != null || !(selectable instanceof NetworkChannel channel))
        {
            super.configure(selectable);
            return;
        }
        setOption(channel, StandardSocketOptions.TCP_NODELAY, isTCPNoDelay());
        if (isReusePort())
            setOption(channel, StandardSocketOptions.SO_REUSEPORT, true);
        if (getReceiveBufferSize() >= 0)
            setOption(channel, StandardSocketOptions.SO_RCVBUF, getReceiveBufferSize());
        if (getSendBufferSize() >= 0)
            setOption(channel, StandardSocketOptions.SO_SNDBUF, getSendBufferSize());
    }

    private static <T> void setOption(NetworkChannel channel, SocketOption<T> option, T value)
    {
        try
        {
            channel.setOption(option, value);
        }
        catch (IOException | UnsupportedOperationException x)
        {
            // As Jetty does: a socket option the platform refuses is not a reason to fail the connect.
            if (LOG.isDebugEnabled())
                LOG.debug("could not set {} to {} on {}", option, value, channel, x);
        }
    }

    @Override
    protected SelectorManager newSelectorManager()
    {
        return new ClientSelectorManager(getExecutor(), getScheduler(), getSelectors())
        {
            // Only a pending connect: a socket that connected at once comes through accept, which a
            // listener's selector would take for an accepted one (its accept listeners, limits).
            @Override
            public void connect(SelectableChannel channel, Object attachment)
            {
                if (!serveLocally(channel, attachment))
                    super.connect(channel, attachment);
            }
        };
    }

    private boolean serveLocally(SelectableChannel channel, Object attachment)
    {
        Object home = attachment instanceof Map<?, ?> context ? context.get(TcpUpstream.LOCAL_SELECTOR_CONTEXT_KEY) : null;
        return home != null && AditServerConnector.serveOn(this, home, channel, attachment);
    }

    /** @return the connector whose socket this is, when a listener's selector serves it for one */
    static AditClientConnector of(Object attachment)
    {
        return attachment instanceof Map<?, ?> context && context.get(CONTEXT_KEY) instanceof AditClientConnector connector ? connector : null;
    }

    /** What this connector's own selector manager does with a new socket, for a listener's. */
    EndPoint newUpstreamEndPoint(SelectableChannel channel, ManagedSelector selector, SelectionKey key)
    {
        EndPoint endPoint = newEndPoint(channel, selector, key);
        endPoint.setIdleTimeout(getIdleTimeout().toMillis());
        return endPoint;
    }

    @SuppressWarnings("unchecked")
    Connection newUpstreamConnection(EndPoint endPoint, Object attachment) throws IOException
    {
        return newConnection(endPoint, (Map<String, Object>)attachment);
    }

    /**
     * Completes the connect's promise once the connection is open, as this connector's own
     * selector manager does.
     *
     * @param open opens the connection (the listener's selector manager's way)
     */
    @SuppressWarnings("unchecked")
    void upstreamOpened(Connection connection, Object attachment, Runnable open)
    {
        Promise<Connection> promise = (Promise<Connection>)((Map<String, Object>)attachment).get(CONNECTION_PROMISE_CONTEXT_KEY);
        try
        {
            open.run();
            promise.succeeded(connection);
        }
        catch (Throwable x)
        {
            promise.failed(x);
        }
    }

    @SuppressWarnings("unchecked")
    void upstreamConnectFailed(SelectableChannel channel, Throwable failure, Object attachment)
    {
        Map<String, Object> context = (Map<String, Object>)attachment;
        connectFailed(channel, (SocketAddress)context.get(REMOTE_SOCKET_ADDRESS_CONTEXT_KEY), failure, context);
    }
}
