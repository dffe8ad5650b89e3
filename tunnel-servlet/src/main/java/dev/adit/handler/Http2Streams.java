package dev.adit.handler;

import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Callback;

/**
 * What {@link TunnelHandler} does with Jetty's HTTP/2 streams, apart from it: jetty-home puts
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
