package dev.adit.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A socket endpoint that reports a TCP reset as an exception from {@link #fill}.
 *
 * <p>Why: Jetty's {@link SocketChannelEndPoint#fill} turns every read error into end of input
 * (-1), so a peer's reset would look like its FIN and a tunnel would pass on a clean
 * half-close where the peer failed. A proxy must tell them apart (RFC 9113 §8.5: a TCP reset
 * becomes RST_STREAM(CONNECT_ERROR)).</p>
 *
 * <p>It also lets the executor of Adit's own connectors finish the close of a socket carrying a
 * tunnel's side in place ({@link #claimCloseInPlace}): Jetty hands every closed socket's last
 * step (its connection's {@code onClose}) to the thread pool, one thread wake-up per socket,
 * two per HTTP/1.1 tunnel, although a tunnel's {@code onClose} never blocks (the HTTP/2 stream
 * endpoints of Jetty already call it in place).</p>
 */
public class ResetAwareEndPoint extends SocketChannelEndPoint
{
    /** The TCP transport for a {@code ClientConnector} context, creating these endpoints. */
    public static final Transport TCP = new Transport.Wrapper(Transport.TCP_IP)
    {
        @Override
        public EndPoint newEndPoint(Scheduler scheduler, ManagedSelector selector, SelectableChannel selectable, SelectionKey selectionKey)
        {
            return new ResetAwareEndPoint((SocketChannel)selectable, selector, selectionKey, scheduler, true);
        }
    };

    /** The socket of a tunnel's side whose close is under way on this thread, until an executor claims it. */
    private static final ThreadLocal<ResetAwareEndPoint> CLOSING = new ThreadLocal<>();

    /** The socket's selection key (Jetty's is private), replaced with it. */
    private volatile SelectionKey key;

    private final boolean upstream;
    private final ManagedSelector selector;

    /** A socket a listener accepted. */
    public ResetAwareEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler)
    {
        this(channel, selector, key, scheduler, false);
    }

    /** @param upstream whether Adit connected the socket ({@link #TCP}) rather than accepted it */
    public ResetAwareEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler, boolean upstream)
    {
        super(channel, selector, key, scheduler);
        this.key = key;
        this.upstream = upstream;
        this.selector = selector;
    }

    /** @return the selector serving this socket (Jetty keeps its own private) */
    public ManagedSelector managedSelector()
    {
        return selector;
    }

    /** @return whether Adit connected this socket (to a target or a next hop) rather than accepted it */
    public boolean isUpstream()
    {
        return upstream;
    }

    @Override
    public void replaceKey(SelectionKey newKey)
    {
        super.replaceKey(newKey);
        key = newKey;
    }

    /**
     * Skips the interest update of a socket closed meanwhile, as Jetty's own update does, but
     * without first throwing and catching a {@link java.nio.channels.CancelledKeyException}:
     * that happens to nearly every closed socket (the close cancels the key while the selector
     * still has the socket's update to run), and costs a stack trace each.
     */
    @Override
    public void updateKey()
    {
        if (!key.isValid())
        {
            close();
            return;
        }
        super.updateKey();
    }

    /**
     * For an executor given Jetty's {@code ManagedSelector.DestroyEndPoint} task: whether the
     * close that submits it is one of a tunnel side's socket, on this thread. Then the task,
     * which runs the connection's {@code onClose}, may run in place. Answers true at most once
     * per close, so that what that task itself closes and executes is judged afresh.
     */
    public static boolean claimCloseInPlace()
    {
        if (CLOSING.get() == null)
            return false;
        CLOSING.set(null);
        return true;
    }

    @Override
    public void onClose(Throwable cause)
    {
        // Set for this close only: a close nested in it (the other side's, from a failure
        // callback) marks itself, or clears the mark when it is not a tunnel side's socket.
        ResetAwareEndPoint outer = CLOSING.get();
        CLOSING.set(getConnection() instanceof TunnelConnection ? this : null);
        try
        {
            super.onClose(cause);
        }
        finally
        {
            CLOSING.set(outer);
        }
    }

    @Override
    public int fill(ByteBuffer buffer) throws IOException
    {
        if (isInputShutdown())
            return -1;
        int position = BufferUtil.flipToFill(buffer);
        try
        {
            int filled = getChannel().read(buffer);
            if (filled > 0)
                notIdle();
            else if (filled < 0)
                shutdownInput();
            return filled;
        }
        catch (IOException x)
        {
            shutdownInput();
            throw x;
        }
        finally
        {
            BufferUtil.flipToFlush(buffer, position);
        }
    }
}
