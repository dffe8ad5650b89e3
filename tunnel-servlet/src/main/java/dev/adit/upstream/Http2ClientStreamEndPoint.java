package dev.adit.upstream;

import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;

import dev.adit.core.EndPointAborter;
import dev.adit.core.SourceReader;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Stream;
import org.eclipse.jetty.http2.HTTP2StreamEndPoint;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;

/**
 * The upstream side of a tunnel carried by a client HTTP/2 stream, after the upstream proxy
 * answered the CONNECT with a 2xx (RFC 9113 §8.5).
 *
 * <p>Mapping: {@link #shutdownOutput()} sends an empty DATA frame with END_STREAM (the tunnel's
 * other side sent FIN); END_STREAM from the peer makes {@link #fill} return -1 once the bytes
 * before it were read; a RST_STREAM or a session failure ({@link #onFailure}) makes {@code fill}
 * throw, so that the tunnel aborts. {@link #ABORTER} resets the stream with
 * RST_STREAM(CONNECT_ERROR).</p>
 *
 * <p>Wiring: whoever owns the stream's {@link Stream.Listener} forwards
 * {@code onDataAvailable} to {@link #onDataAvailable()}, {@code onReset}/{@code onFailure} to
 * {@link #onFailure(Throwable)} and {@code onIdleTimeout} to {@link #onIdleExpired}. Only a
 * listener may call these; they run on HTTP/2 threads and never block.</p>
 *
 * <p>Close: besides what {@link HTTP2StreamEndPoint#close(Throwable)} does, the closed stream is
 * removed from its session. When the endpoint closes the stream before its last frame was
 * written (the tunnel ends while its END_STREAM is still queued), Jetty 12.1 leaves the stream
 * registered in the session (jetty/jetty.project#15657), which keeps the session's stream count
 * above zero for ever, so that a GOAWAY exchange never completes.</p>
 */
public class Http2ClientStreamEndPoint extends HTTP2StreamEndPoint
{
    /**
     * Resets the stream with RST_STREAM(CONNECT_ERROR), the code RFC 9113 §8.5 gives a proxy
     * whose TCP side was reset or failed; then closes the endpoint. Other endpoints (not HTTP/2
     * streams) get a TCP reset.
     */
    public static final EndPointAborter ABORTER = new EndPointAborter()
    {
        @Override
        public void abort(EndPoint endPoint, Throwable cause)
        {
            Http2ClientStreamEndPoint.abort(endPoint, cause);
        }

        /** The stream's DATA is read by an {@link Http2StreamReader}, not by the endpoint's fill. */
        @Override
        public SourceReader newReader(EndPoint endPoint)
        {
            return Http2StreamReader.of(endPoint);
        }
    };

    private final HTTP2Stream stream;

    public Http2ClientStreamEndPoint(HTTP2Stream stream)
    {
        super(stream);
        this.stream = stream;
    }

    /** DATA (or END_STREAM) is available: wakes up the reader, if one is waiting. */
    public void onDataAvailable()
    {
        processDataAvailable();
    }

    /**
     * The stream was reset or its session failed: the next (or pending) {@link #fill} throws
     * {@code failure}, and the endpoint is closed once a connection is installed (before that,
     * the connection finds out on its first fill).
     */
    public void onFailure(Throwable failure)
    {
        processFailure(failure);
        if (getConnection() != null)
            close(failure);
    }

    /**
     * The stream idle timeout expired: asks the connection, as Jetty's server stream endpoint
     * does.
     *
     * @return whether the stream should be reset (the connection did not handle the timeout)
     */
    public boolean onIdleExpired(TimeoutException timeout)
    {
        Connection connection = getConnection();
        boolean expire = connection == null || connection.onIdleExpired(timeout);
        if (expire)
            onFailure(timeout);
        return expire;
    }

    @Override
    public void close(Throwable cause)
    {
        if (getConnection() == null)
        {
            // Nothing was installed yet: HTTP2StreamEndPoint.close() would notify a null connection.
            processFailure(cause == null ? new ClosedChannelException() : cause);
            if (!stream.isReset())
                stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        }
        else
        {
            super.close(cause);
        }
        // Workaround for jetty/jetty.project#15657, see the class comment. Idempotent.
        if (stream.isClosed())
            stream.getSession().removeStream(stream);
    }

    private static void abort(EndPoint endPoint, Throwable cause)
    {
        if (endPoint.getTransport() instanceof Stream stream && !stream.isReset())
            stream.reset(new ResetFrame(stream.getId(), ErrorCode.HTTP_CONNECT_ERROR.code), Callback.from(() -> endPoint.close(cause), x -> endPoint.close(cause)));
        else
            EndPointAborter.TCP_RESET.abort(endPoint, cause);
    }
}
