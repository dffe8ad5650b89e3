package dev.adit.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

import dev.adit.testing.Payloads;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * A connection a dial installs directly, for an echo server: on open it sends a few random
 * bytes, reads as many back, completes {@link #echoed()} with them and closes the endpoint.
 * Proves that the installed connection's endpoint carries payload; buffers are not pooled.
 */
final class EchoProbe extends AbstractConnection
{
    private final byte[] sent = Payloads.random(1024);
    private final ByteBuffer received = BufferUtil.allocate(sent.length);
    private final CompletableFuture<byte[]> echoed = new CompletableFuture<>();

    EchoProbe(EndPoint endPoint, Executor executor)
    {
        super(endPoint, executor);
    }

    byte[] sent()
    {
        return sent.clone();
    }

    /** The bytes read back, or the failure that stopped the probe. */
    CompletableFuture<byte[]> echoed()
    {
        return echoed;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        getEndPoint().write(Callback.from(() -> {}, echoed::completeExceptionally), ByteBuffer.wrap(sent));
        fillInterested();
    }

    @Override
    public void onFillable()
    {
        try
        {
            while (received.remaining() < sent.length)
            {
                int filled = getEndPoint().fill(received);
                if (filled == 0)
                {
                    fillInterested();
                    return;
                }
                if (filled < 0)
                    throw new EofException("EOF after " + received.remaining() + " of " + sent.length + " bytes");
            }
            echoed.complete(BufferUtil.toArray(received));
            getEndPoint().close();
        }
        catch (IOException x)
        {
            echoed.completeExceptionally(x);
            getEndPoint().close(x);
        }
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        echoed.completeExceptionally(cause != null ? cause : new EofException("closed"));
    }
}
