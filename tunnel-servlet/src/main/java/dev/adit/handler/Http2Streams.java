package dev.adit.handler;

import org.eclipse.jetty.http2.HTTP2Connection;
import org.eclipse.jetty.http2.HTTP2Stream;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;

/**
 * What {@link TunnelHandler} and {@link PostTunnelEndPoint} do with Jetty's HTTP/2 streams, apart from them: jetty-home puts
 * the HTTP/2 classes on the class path only with its {@code http2} or {@code http2c} module, and
 * a server without them (a WAR on {@code http} alone) must still serve HTTP/1.1 tunnels and
 * refusals. The handler calls these for HTTP/2 requests only, so this class, and Jetty's
 * {@link Stream} with it, is loaded only where HTTP/2 is served.
 */
final class Http2Streams
{
    private Http2Streams()
    {
    }

    /**
     * Removes the stream carrying {@code endPoint} from its session once {@code connection} (the
     * tunnel's, installed on that endpoint) closes, so that the session forgets it.
     *
     * <p>Why: Jetty 12.1.12's {@code HTTP2StreamEndPoint.close()} closes the stream but never
     * removes it from its session (jetty/jetty.project#15657; Jetty removes a stream only when
     * its own close-state machine sees both END_STREAMs, and a tunnel that ends while its
     * END_STREAM is still queued closes the stream first). Each such stream then stays in the
     * session, with the tunnel hanging off it, until the connection closes: a connection that
     * carried thousands of tunnels held a third of them, and one whose client sent GOAWAY could
     * never finish closing (the session waits for its stream count to reach zero), so it lingered
     * until its idle timeout. Removing is idempotent, and harmless once the stream is closed: the
     * END_STREAM already queued is still written, before any GOAWAY the removal lets out.</p>
     */
    static void removeFromSessionOnClose(Connection connection, EndPoint endPoint)
    {
        if (!(endPoint.getTransport() instanceof HTTP2Stream stream))
            return;
        connection.addEventListener(new Connection.Listener()
        {
            @Override
            public void onClosed(Connection closed)
            {
                if (stream.isClosed())
                    stream.getSession().removeStream(stream);
            }
        });
    }

    /**
     * Resets the HTTP/2 stream of a POST tunnel's exchange with RST_STREAM(CANCEL), as Jetty
     * does when the exchange fails, but with one of {@link Http2TunnelResets}' frames, which the
     * rate control does not count; Jetty's own reset then finds the stream reset and sends
     * nothing. Counted, a few hundred POST tunnels whose targets reset at once cost their
     * client its connection. Does nothing when the stream cannot be found (then Jetty's reset,
     * counted, still goes out).
     */
    static void resetPostTunnel(Request request)
    {
        if (!(request.getConnectionMetaData().getConnection() instanceof HTTP2Connection connection))
            return;
        int streamId;
        try
        {
            // Jetty 12.1's id of an HTTP/2 request is its stream's (HttpStreamOverHTTP2.getId).
            streamId = Integer.parseInt(request.getId());
        }
        catch (NumberFormatException x)
        {
            return;
        }
        Stream stream = connection.getSession().getStream(streamId);
        if (stream != null && !stream.isReset())
            stream.reset(Http2TunnelResets.cancel(streamId), Callback.NOOP);
    }

    /** @return whether the stream carrying {@code endPoint} was reset, by either side */
    static boolean isReset(EndPoint endPoint)
    {
        return endPoint.getTransport() instanceof Stream stream && stream.isReset();
    }

    /**
     * Jetty 12.1.12 drops an HTTP/2 CONNECT stream answered with a non-2xx without releasing
     * the DATA frames the client sent with it (early data): their network buffers would leak.
     *
     * @return {@code callback}, reading and releasing those frames once it succeeded
     */
    static Callback releasingQueuedData(EndPoint endPoint, Callback callback)
    {
        if (!(endPoint.getTransport() instanceof Stream stream))
            return callback;
        return Callback.from(callback, () -> releaseQueuedData(stream));
    }

    private static void releaseQueuedData(Stream stream)
    {
        for (Stream.Data data = stream.readData(); data != null; data = stream.readData())
        {
            data.release();
            if (data.frame().isEndStream())
                break;
        }
    }
}
