package dev.adit.handler;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

import dev.adit.config.TunnelConfig;
import dev.adit.core.EndPointAborter;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import dev.adit.core.TunnelListener;
import dev.adit.policy.Authority;
import dev.adit.policy.MalformedAuthorityException;
import dev.adit.upstream.TcpUpstream;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.TunnelSupport;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Terminates CONNECT: HTTP/1.1 CONNECT, HTTP/2 CONNECT (RFC 9113 §8.5) and its legacy
 * {@code :protocol=bytestream} form. It opens a TCP connection to the target and, once that
 * connect succeeded, answers 200 (no Content-Length, no Transfer-Encoding) and joins the two
 * sides in a {@link Tunnel}. Before the tunnel exists every failure is an HTTP status: 400
 * malformed target, 403 denied by the destination policy, 502 refused or unresolvable, 504
 * connect timeout; each is logged with its reason.
 *
 * <p>Requests that are not CONNECT, and extended CONNECT with another {@code :protocol}
 * (such as {@code websocket}), go to the next handler. It must sit in front of every context:
 * an HTTP/2 CONNECT has no path and would not reach one.</p>
 *
 * <p>Contract: for a CONNECT it handles, {@link #handle} returns true and completes the callback
 * exactly once, asynchronously, after the upstream connect finished.</p>
 */
public class TunnelHandler extends Handler.Wrapper
{
    private static final Logger LOG = LoggerFactory.getLogger(TunnelHandler.class);
    private static final String BYTESTREAM = "bytestream";

    private final TunnelConfig config;
    private final TcpUpstream upstream;
    private final TunnelListener listener;

    public TunnelHandler(TunnelConfig config, TcpUpstream upstream, TunnelListener listener)
    {
        this.config = Objects.requireNonNull(config);
        this.upstream = Objects.requireNonNull(upstream);
        this.listener = Objects.requireNonNull(listener);
        installBean(upstream);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception
    {
        if (!HttpMethod.CONNECT.is(request.getMethod()))
            return super.handle(request, response, callback);
        TunnelSupport tunnelSupport = request.getTunnelSupport();
        if (tunnelSupport == null)
        {
            // HTTP/3 has no tunnel support in Jetty 12.1.
            reject(request, response, callback, HttpStatus.NOT_IMPLEMENTED_501, "-", "not_implemented", "CONNECT is not supported over " + request.getConnectionMetaData().getProtocol());
            return true;
        }
        String protocol = tunnelSupport.getProtocol();
        if (protocol != null && !BYTESTREAM.equalsIgnoreCase(protocol))
            return super.handle(request, response, callback);

        String rawTarget = rawTarget(request);
        Authority target;
        try
        {
            target = Authority.parse(rawTarget);
        }
        catch (MalformedAuthorityException x)
        {
            fail(request, response, callback, rawTarget, new TunnelException(TunnelFailure.MALFORMED_TARGET, x.getMessage()));
            return true;
        }

        EndPoint downstream = tunnelSupport.getEndPoint();
        boolean http1 = isHttp1(request);
        if (http1)
            request.addHttpStreamWrapper(stream -> new RawTunnelResponse(stream, downstream));
        Tunnel tunnel = new Tunnel(target.toString(), request.getConnectionMetaData().getHttpVersion().asString(),
            config, request.getComponents().getByteBufferPool(), request.getComponents().getScheduler(), listener);
        upstream.connect(target, tunnel, new Promise<>()
        {
            @Override
            public void succeeded(InetSocketAddress address)
            {
                establish(request, response, callback, tunnel, downstream, http1);
            }

            @Override
            public void failed(Throwable x)
            {
                tunnel.dispose(x);
                fail(request, response, callback, target.toString(), x);
            }
        });
        return true;
    }

    private void establish(Request request, Response response, Callback callback, Tunnel tunnel, EndPoint downstream, boolean http1)
    {
        EndPointAborter aborter = http1 ? EndPointAborter.TCP_RESET : Http2StreamAborter.INSTANCE;
        request.setAttribute(HttpStream.UPGRADE_CONNECTION_ATTRIBUTE,
            tunnel.newDownstreamConnection(downstream, request.getComponents().getExecutor(), aborter));
        response.setStatus(HttpStatus.OK_200);
        // Jetty installs the tunnel's connection on the endpoint once the response completed.
        response.write(true, null, Callback.from(() ->
        {
            callback.succeeded();
            if (!http1)
                endIfStreamAlreadyReset(tunnel, downstream);
        }, x ->
        {
            tunnel.dispose(x);
            callback.failed(x);
        }));
    }

    /**
     * A client may reset its stream while the 200 is on its way; Jetty then skips the upgrade
     * (or the reset reaches no endpoint yet), and the tunnel would wait for its idle timeout
     * with the target connected. End it now.
     */
    private static void endIfStreamAlreadyReset(Tunnel tunnel, EndPoint downstream)
    {
        if (downstream.getTransport() instanceof Stream stream && (stream.isReset() || stream.isClosed()))
        {
            EofException reset = new EofException("client reset the stream as the tunnel opened");
            tunnel.dispose(reset);
            tunnel.abort(TunnelFailure.DOWNSTREAM_RESET, reset);
        }
    }

    private void fail(Request request, Response response, Callback callback, String target, Throwable x)
    {
        TunnelFailure failure = x instanceof TunnelException te ? te.failure() : TunnelFailure.CONNECT_FAILED;
        String reason = x.getMessage() == null ? x.toString() : x.getMessage();
        reject(request, response, callback, failure.status(), target, failure.code(), reason);
    }

    private void reject(Request request, Response response, Callback callback, int status, String target, String code, String reason)
    {
        LOG.info("CONNECT {} from {} over {} refused {} {}: {}", target, Request.getRemoteAddr(request),
            request.getConnectionMetaData().getHttpVersion().asString(), status, code, reason);
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, MimeTypes.Type.TEXT_PLAIN_UTF_8.asString());
        // After a failed HTTP/1.1 CONNECT the client may already have sent tunnel bytes, which
        // must not be parsed as a request: close the connection.
        if (isHttp1(request))
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        ByteBuffer body = ByteBuffer.wrap((code + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8));
        response.write(true, body, callback);
    }

    private static boolean isHttp1(Request request)
    {
        HttpVersion version = request.getConnectionMetaData().getHttpVersion();
        return version == HttpVersion.HTTP_1_1 || version == HttpVersion.HTTP_1_0;
    }

    /**
     * The target as the client sent it: the HTTP/1.1 request-target in authority form, or the
     * HTTP/2 {@code :authority}. Jetty has already split it into host and port; the pieces are
     * put back together so that {@link Authority#parse} judges the whole.
     */
    private static String rawTarget(Request request)
    {
        HttpURI uri = request.getHttpURI();
        String host = uri.getHost();
        if (host == null)
            return "";
        String user = uri.getUser();
        String prefix = user == null ? "" : user + "@";
        return uri.getPort() > 0 ? prefix + host + ":" + uri.getPort() : prefix + host;
    }
}
