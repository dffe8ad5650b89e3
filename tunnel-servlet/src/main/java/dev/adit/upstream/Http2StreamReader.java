package dev.adit.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;

import dev.adit.core.SourceReader;
import org.eclipse.jetty.http2.HTTP2Stream;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Reads an HTTP/2 tunnel stream's DATA for a pipe, in place of Jetty's
 * {@code HTTP2StreamEndPoint.fill}, on both sides: the client's CONNECT streams and Adit's
 * upstream ones. It reads the frames from the stream itself, copies them out and releases them,
 * as Jetty's fill does, and demands the next.
 *
 * <p>Why: Jetty 12.1.12's {@code HTTP2StreamEndPoint} keeps the frame it is reading in a field
 * that {@code fill} releases and then clears, while {@code close} takes it out and releases it,
 * without excluding each other. A close on one thread (Jetty's, when the peer resets the stream)
 * between those two steps of a fill on another (the pipe's, when its last write completed)
 * releases the frame twice. The frame's network buffer then goes back to the pool while the
 * HTTP/2 connection still parses from it: seen as an "over-released" buffer that stopped the
 * connection's reading for good, with every tunnel on it; with a buffer handed out again
 * meanwhile, another connection's bytes could have been read as this one's. Reading the frames
 * here leaves the endpoint's field empty, so its close has nothing to release; a frame this
 * reader holds is released by the pipe when it ends, never at the same time as a fill.</p>
 *
 * <p>As Jetty's fill: END_STREAM reads as -1 once the bytes before it were read; a stream reset
 * or failed reads as an {@link EofException} from then on, before any frame still queued (its
 * endpoint is closed too, which aborts the tunnel); the endpoint's fill interest still wakes the
 * pipe, as it demands DATA. Unlike Jetty's fill, the exception does not carry the stream's own
 * failure, which Jetty keeps to itself: the tunnel's outcome comes from which side failed, not
 * from the exception.</p>
 */
public final class Http2StreamReader implements SourceReader
{
    private final Stream stream;
    private Stream.Data held;
    private boolean ended;

    private Http2StreamReader(Stream stream)
    {
        this.stream = stream;
    }

    /** @return a reader of {@code endPoint}'s stream, or null when it carries none (then its own fill) */
    public static SourceReader of(EndPoint endPoint)
    {
        return endPoint.getTransport() instanceof Stream stream ? new Http2StreamReader(stream) : null;
    }

    @Override
    public int fill(ByteBuffer sink) throws IOException
    {
        if (ended)
            return -1;
        Stream.Data data = held;
        if (data == null)
        {
            // First, as Jetty's fill: a reset stream may still hold frames (an END_STREAM read
            // before the reset), which must not read as a clean end.
            if (stream instanceof HTTP2Stream http2 ? http2.isResetOrFailed() : stream.isReset())
                throw new EofException("stream " + stream.getId() + " reset or failed");
            data = stream.readData();
            if (data == null)
                return 0;
            held = data;
        }
        ByteBuffer source = data.frame().getByteBuffer();
        int length = BufferUtil.append(sink, source);
        if (!source.hasRemaining())
        {
            boolean last = data.frame().isEndStream();
            held = null;
            data.release();
            if (last)
            {
                ended = true;
                return length > 0 ? length : -1;
            }
            stream.demand();
        }
        return length;
    }

    @Override
    public void release()
    {
        Stream.Data data = held;
        held = null;
        if (data != null)
            data.release();
    }
}
