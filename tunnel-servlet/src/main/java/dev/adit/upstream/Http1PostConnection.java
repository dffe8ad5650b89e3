package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import dev.adit.core.EndPointAborter;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * Opens a POST tunnel (Envoy's {@code tunneling_config} with {@code use_post}) over HTTP/1.1:
 * the connection an encapsulating listener's http1 cluster installs (through
 * {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions, Function, Promise)}) on an
 * endpoint connected to the upstream, in clear or under TLS; one connection per tunnel.
 *
 * <p>On open it writes {@code POST path HTTP/1.1}, {@code Host: target},
 * {@code Transfer-Encoding: chunked} and the caller's end-to-end headers (hop-by-hop headers are
 * never sent), at once: no {@code Expect: 100-continue}, since the body cannot start before the
 * answer anyway (the tunnel starts on the 2xx). The answer is parsed with Jetty's
 * {@link HttpParser} ({@link Http1RequestConnection}: interim answers skipped, refusals
 * relayed with status, headers and body as {@link UpstreamRefusedException}, malformed answers,
 * closes and silence reported as for CONNECT).</p>
 *
 * <p>On a 2xx the tunnel's upstream connection is installed on an {@link Http1PostEndPoint}
 * over this endpoint: the request body carries the client's bytes as chunks, the response body
 * (chunked, Content-Length, or to the close; other transfer codings are an
 * {@link TunnelFailure#UPSTREAM_PROTOCOL_ERROR}) the target's. This connection stays the
 * socket's connection under it, passing the socket's close and idle timeout on to the
 * endpoint, and never reads again.</p>
 */
public final class Http1PostConnection extends Http1RequestConnection
{
    private final String path;
    private final String target;
    private volatile Http1PostEndPoint post;

    /**
     * @param endPoint        connected to the upstream (decrypted, under TLS)
     * @param path            the request's path, e.g. {@code /tunnel}
     * @param target          the authority the tunnel goes to, sent as {@code Host}, e.g.
     *                        {@code example.com:443} or {@code [::1]:8443}
     * @param headers         end-to-end headers to send; Host and hop-by-hop headers among them are dropped
     * @param tunnel          whose upstream side this carries on a 2xx
     * @param responseTimeout how long the upstream has to answer, from {@link #onOpen()}
     * @param promise         succeeded once the tunnel's connection is installed, or failed with a
     *                        {@link TunnelException} ({@link UpstreamRefusedException} for a non-2xx)
     * @throws IllegalArgumentException if the path is not absolute, or the path, the target or a
     *                                  header contains CR, LF or (path, target) white space
     */
    public Http1PostConnection(EndPoint endPoint, Executor executor, ByteBufferPool pool, Scheduler scheduler, String path, String target,
                               HttpFields headers, dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        super(endPoint, executor, pool, scheduler, "POST " + path + " for " + target,
            requestHead("POST " + checkPath(path) + " HTTP/1.1", checkTarget(Objects.requireNonNull(target, "target")), "Transfer-Encoding: chunked\r\n",
                Objects.requireNonNull(headers, "headers")),
            tunnel, responseTimeout, promise);
        this.path = path;
        this.target = target;
    }

    /** The factory to pass to {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions, Function, Promise)}. */
    public static Function<EndPoint, Connection> factory(Executor executor, ByteBufferPool pool, Scheduler scheduler, String path, String target,
                                                         HttpFields headers, dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        return endPoint -> new Http1PostConnection(endPoint, executor, pool, scheduler, path, target, headers, tunnel, responseTimeout, promise);
    }

    private static String checkPath(String path)
    {
        Objects.requireNonNull(path, "path");
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c >= 0x7F))
            throw new IllegalArgumentException("path: '" + path + "' (expected: an absolute path such as /tunnel)");
        return path;
    }

    @Override
    void install(ConnectAnswer answer, ByteBuffer early) throws TunnelException
    {
        Http1BodyDecoder decoder;
        try
        {
            decoder = Http1BodyDecoder.forResponse(answer.status(), answer.headers());
        }
        catch (IllegalArgumentException x)
        {
            throw protocolError("the response body cannot carry the tunnel: " + x.getMessage());
        }
        Http1PostEndPoint endPoint = new Http1PostEndPoint(getEndPoint(), decoder, early);
        Connection connection = tunnel.newUpstreamConnection(endPoint, getExecutor(), EndPointAborter.TCP_RESET);
        // From here on the socket's close and idle timeout are the endpoint's.
        post = endPoint;
        endPoint.upgrade(connection);
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeoutException)
    {
        Http1PostEndPoint endPoint = post;
        if (endPoint != null)
            return endPoint.onIdleExpired(timeoutException);
        return super.onIdleExpired(timeoutException);
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        Http1PostEndPoint endPoint = post;
        if (endPoint != null)
            endPoint.onSocketClosed(cause);
    }

    @Override
    public String toConnectionString()
    {
        return "Http1PostConnection[%s,%s,%s,status=%d]".formatted(tunnel.id(), path, target, status());
    }
}
