package dev.adit.core;

import java.nio.ByteBuffer;

import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.IteratingCallback;

/**
 * One direction of a tunnel: fills from the source side, writes to the sink side, and reads
 * again only after the write completed, so a slow sink stops the source (backpressure holds at
 * most one buffer per direction). At end of input it shuts the sink's output down (FIN or
 * END_STREAM) and completes; the tunnel ends when both of its pipes have.
 *
 * <p>The buffer is borrowed from the pool only while bytes are in flight: a quiet tunnel holds
 * no buffer at all, which keeps idle tunnels cheap.</p>
 *
 * <p>Threading: driven by {@link IteratingCallback}, so {@link #process()} never runs
 * concurrently with itself; it never blocks, and is invoked on selector or HTTP/2 threads.</p>
 */
final class Pipe extends IteratingCallback
{
    private final TunnelConnection source;
    /** Null: the source endpoint's own fill. */
    private final SourceReader reader;
    private final TunnelConnection sink;
    private final ByteBufferPool pool;
    private final int bufferSize;
    private RetainableByteBuffer buffer;
    private boolean writing;
    private volatile long bytes;

    Pipe(TunnelConnection source, TunnelConnection sink, ByteBufferPool pool, int bufferSize)
    {
        this.source = source;
        this.reader = source.aborter().newReader(source.getEndPoint());
        this.sink = sink;
        this.pool = pool;
        this.bufferSize = bufferSize;
    }

    long bytes()
    {
        return bytes;
    }

    /** @return the side whose operation was pending when this pipe failed */
    TunnelConnection culprit()
    {
        return writing ? sink : source;
    }

    TunnelConnection source()
    {
        return source;
    }

    @Override
    protected Action process() throws Throwable
    {
        writing = false;
        ByteBuffer early = source.takeEarlyData();
        if (early != null)
            return write(early);

        if (buffer == null)
            buffer = pool.acquire(bufferSize, true);
        ByteBuffer byteBuffer = buffer.getByteBuffer();
        BufferUtil.clear(byteBuffer);
        int filled = reader != null ? reader.fill(byteBuffer) : source.getEndPoint().fill(byteBuffer);
        if (filled > 0)
            return write(byteBuffer);

        releaseBuffer();
        if (filled == 0)
        {
            source.getEndPoint().fillInterested(this);
            return Action.SCHEDULED;
        }
        // RFC 9113 §8.5: a FIN from the TCP side is END_STREAM on the HTTP/2 side, and the reverse.
        sink.shutdownOutput();
        return Action.SUCCEEDED;
    }

    private Action write(ByteBuffer byteBuffer)
    {
        bytes += byteBuffer.remaining();
        writing = true;
        sink.getEndPoint().write(this, byteBuffer);
        return Action.SCHEDULED;
    }

    @Override
    protected void onCompleteSuccess()
    {
        releaseBuffer();
        releaseReader();
        source.tunnel().onPipeCompleted(this);
    }

    @Override
    protected void onCompleteFailure(Throwable cause)
    {
        releaseBuffer();
        releaseReader();
        source.tunnel().onPipeFailed(this, cause);
    }

    private void releaseBuffer()
    {
        if (buffer != null)
        {
            buffer.release();
            buffer = null;
        }
    }

    private void releaseReader()
    {
        if (reader != null)
            reader.release();
    }

    @Override
    public InvocationType getInvocationType()
    {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public String toString()
    {
        return "Pipe[%s->%s,%d bytes,%s]".formatted(source.side(), sink.side(), bytes, super.toString());
    }
}
