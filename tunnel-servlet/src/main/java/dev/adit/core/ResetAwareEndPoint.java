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
 */
public class ResetAwareEndPoint extends SocketChannelEndPoint
{
    /** The TCP transport for a {@code ClientConnector} context, creating these endpoints. */
    public static final Transport TCP = new Transport.Wrapper(Transport.TCP_IP)
    {
        @Override
        public EndPoint newEndPoint(Scheduler scheduler, ManagedSelector selector, SelectableChannel selectable, SelectionKey selectionKey)
        {
            return new ResetAwareEndPoint((SocketChannel)selectable, selector, selectionKey, scheduler);
        }
    };

    public ResetAwareEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler)
    {
        super(channel, selector, key, scheduler);
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
