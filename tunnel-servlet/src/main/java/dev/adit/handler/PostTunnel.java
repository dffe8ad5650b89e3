package dev.adit.handler;

import dev.adit.core.Tunnel;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a POST tunnel (Envoy's {@code allow_post}) on a request being handled: the request
 * body becomes the byte stream towards the target, the response body the stream back.
 *
 * <p>Use it once the tunnel's upstream side is connected (Envoy answers when the upstream TCP
 * connection is established, not on its first byte): it answers 200 with
 * {@code Content-Type: application/octet-stream} and no {@code Content-Length} (so HTTP/1.1
 * chunks the body, HTTP/2 leaves the stream open), then installs the tunnel's downstream
 * connection on a {@link PostTunnelEndPoint} and opens it, which starts the tunnel. Bytes the
 * client sent before the 200 wait in the request body and are the first ones read.</p>
 *
 * <p>HTTP/1.0 cannot carry a POST tunnel (no chunked request bodies); the caller should refuse
 * it. The 200 is committed before the tunnel can write, so the two writes never overlap.</p>
 *
 * <p>Contract: the handler's callback belongs to the endpoint from the call on; the handler
 * returns true and touches neither the callback nor the response again. If the 200 cannot be
 * sent, the tunnel is refused as {@link TunnelFailure#DOWNSTREAM_RESET} (the target's side
 * reset) and the callback failed.</p>
 */
public final class PostTunnel
{
    private static final Logger LOG = LoggerFactory.getLogger(PostTunnel.class);

    private PostTunnel()
    {
    }

    /**
     * @param tunnel a tunnel whose upstream connection is connected and whose downstream side
     *               is not set yet
     * @return the endpoint, for callers that want to watch it; it completes the callback itself
     */
    public static PostTunnelEndPoint start(Request request, Response response, Callback callback, Tunnel tunnel)
    {
        PostTunnelEndPoint endPoint = new PostTunnelEndPoint(request, response, callback);
        Connection connection = tunnel.newDownstreamConnection(endPoint, request.getComponents().getExecutor(), PostTunnelEndPoint.ABORTER);
        tunnel.setResponseCode(HttpStatus.OK_200);
        response.setStatus(HttpStatus.OK_200);
        response.getHeaders().remove(HttpHeader.CONTENT_LENGTH);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/octet-stream");
        // An empty, non-last write commits and sends the head: HTTP/1.1 with chunked transfer
        // coding, HTTP/2 a HEADERS frame without END_STREAM.
        response.write(false, null, Callback.from(Invocable.InvocationType.NON_BLOCKING, () ->
        {
            if (LOG.isDebugEnabled())
                LOG.debug("POST tunnel {} established on {}", tunnel.id(), endPoint);
            endPoint.onOpen();
            endPoint.upgrade(connection);
        }, x ->
        {
            if (LOG.isDebugEnabled())
                LOG.debug("POST tunnel {}: the 200 could not be sent", tunnel.id(), x);
            // Closes the endpoint with the failure, which fails the callback.
            tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, 0, x);
            endPoint.close(x);
        }));
        return endPoint;
    }
}
