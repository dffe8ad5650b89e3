package dev.adit.core;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;

/**
 * The Jetty {@link Connection} installed on one side of a tunnel. It does not read on its own:
 * the {@link Pipe} that takes bytes from this side registers itself as the fill-interest
 * callback of the endpoint. This connection reports opening, closing and idleness to the tunnel. It also keeps the bytes that arrived with the
 * upgrade (HTTP/1.1 bytes pipelined after the CONNECT head) so that none is lost.
 */
final class TunnelConnection extends AbstractConnection implements Connection.UpgradeTo
{
    /** Which side of the tunnel a connection is on. */
    enum Side
    {
        DOWNSTREAM, UPSTREAM
    }

    private final dev.adit.core.Tunnel tunnel;
    private final Side side;
    private final EndPointAborter aborter;
    private ByteBuffer earlyData;
    private volatile boolean outputShutdown;
    private volatile boolean opened;

    TunnelConnection(dev.adit.core.Tunnel tunnel, Side side, EndPoint endPoint, Executor executor, EndPointAborter aborter)
    {
        super(endPoint, executor);
        this.tunnel = tunnel;
        this.side = side;
        this.aborter = aborter;
    }

    dev.adit.core.Tunnel tunnel()
    {
        return tunnel;
    }

    Side side()
    {
        return side;
    }

    EndPointAborter aborter()
    {
        return aborter;
    }

    @Override
    public void onUpgradeTo(ByteBuffer buffer)
    {
        // The buffer is ours (HttpConnection hands over a copy); keep it for the first write.
        if (BufferUtil.hasContent(buffer))
            earlyData = buffer;
    }

    /** @return the bytes received with the upgrade, once; null afterwards */
    ByteBuffer takeEarlyData()
    {
        ByteBuffer early = earlyData;
        earlyData = null;
        return early;
    }

    /** Sends FIN / END_STREAM on this side and remembers the tunnel did it. */
    void shutdownOutput()
    {
        outputShutdown = true;
        getEndPoint().shutdownOutput();
    }

    /**
     * @return whether the tunnel shut this side's output down; a socket whose input then ends
     * is closed by Jetty itself, which is the normal end of that side and not a failure
     */
    boolean isOutputShutdown()
    {
        return outputShutdown;
    }

    /** @return whether the connection was opened: installed on its endpoint, which is the tunnel's from then on */
    boolean isOpened()
    {
        return opened;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        // Before the tunnel reads its state: see Tunnel.release.
        opened = true;
        tunnel.onConnectionOpened(this);
    }

    @Override
    public void onFillable()
    {
        // Never called: the pipe registers itself as the fill-interest callback.
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeout)
    {
        tunnel.onIdleTimeout(this, timeout);
        return false;
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        tunnel.onConnectionClosed(this, cause);
    }

    @Override
    public String toConnectionString()
    {
        return "TunnelConnection[%s,%s]".formatted(tunnel.id(), side);
    }
}
