package dev.adit.handler;

import dev.adit.core.EndPointAborter;
import dev.adit.core.SourceReader;
import dev.adit.upstream.Http2StreamReader;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;

/**
 * Aborts the HTTP/2 side of a tunnel with RST_STREAM(CONNECT_ERROR), as RFC 9113 §8.5 asks of a
 * proxy whose TCP connection was reset or failed; sockets fall back to a TCP reset. The frame is
 * one of {@link Http2TunnelResets}', which the listeners' rate control does not count. Its pipes
 * read the stream through an {@link Http2StreamReader}.
 */
final class Http2StreamAborter implements EndPointAborter
{
    static final EndPointAborter INSTANCE = new Http2StreamAborter();

    private Http2StreamAborter()
    {
    }

    @Override
    public void abort(EndPoint endPoint, Throwable cause)
    {
        if (endPoint.getTransport() instanceof Stream stream && !stream.isReset())
            stream.reset(Http2TunnelResets.connectError(stream.getId()), Callback.from(() -> endPoint.close(cause)));
        else
            TCP_RESET.abort(endPoint, cause);
    }

    /** The stream's DATA is read by an {@link Http2StreamReader}, not by Jetty's endpoint. */
    @Override
    public SourceReader newReader(EndPoint endPoint)
    {
        return Http2StreamReader.of(endPoint);
    }
}
