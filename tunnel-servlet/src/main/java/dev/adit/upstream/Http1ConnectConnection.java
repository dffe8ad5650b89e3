package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
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
 * Forwards a CONNECT to an upstream HTTP proxy over HTTP/1.1: the connection a {@code proxy}
 * route installs (through {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions,
 * Function, Promise)}) on an endpoint connected to that proxy, in clear or under TLS.
 *
 * <p>On open it writes {@code CONNECT target HTTP/1.1}, {@code Host: target} and the caller's
 * end-to-end headers (hop-by-hop headers are never sent), and parses the answer with Jetty's
 * {@link HttpParser}:</p>
 * <ul>
 * <li>2xx: the tunnel is established. Parsing stops right after the header block; any
 *     Content-Length or Transfer-Encoding is ignored, because a 2xx answer to CONNECT has no
 *     body (RFC 9110 §9.3.6; proxies that send one anyway: Envoy #11308). This connection then
 *     replaces itself on the endpoint with the tunnel's upstream connection, handing over the
 *     bytes the proxy sent after the header block ({@link Connection.UpgradeFrom}), and succeeds
 *     the promise.</li>
 * <li>1xx (but 101): interim, skipped.</li>
 * <li>Other statuses: the body is read (Content-Length, chunked, or to the close; at most
 *     {@value #MAX_BODY} bytes kept, reading stops there), the connection is closed and the
 *     promise fails with an {@link UpstreamRefusedException} carrying the status, the end-to-end
 *     headers and the body, for the client.</li>
 * <li>A malformed answer, a 101, or a close before a complete header block:
 *     {@link TunnelFailure#UPSTREAM_PROTOCOL_ERROR}. No answer within the response timeout:
 *     {@link TunnelFailure#CONNECT_TIMEOUT}. The connection is closed.</li>
 * </ul>
 *
 * <p>All of it but the 2xx is {@link Http1RequestConnection}'s, shared with POST tunnels.
 * Buffers: each read borrows one pooled buffer and returns it before {@code onFillable}
 * returns; the bytes handed to the tunnel are a copy. Threading: reads run on Jetty's I/O
 * threads, the timeout on the scheduler; exactly one outcome completes the promise, on either
 * kind of thread, so the promise must not block.</p>
 */
public final class Http1ConnectConnection extends Http1RequestConnection implements Connection.UpgradeFrom
{
    /** The most body bytes of a refusal kept for the client. */
    public static final int MAX_BODY = Http1RequestConnection.MAX_BODY;

    private final String target;
    private ByteBuffer leftover;

    /**
     * @param endPoint        connected to the upstream proxy (decrypted, under TLS)
     * @param target          the authority to CONNECT to, e.g. {@code example.com:443} or {@code [::1]:8443}
     * @param headers         end-to-end headers to send; Host and hop-by-hop headers among them are dropped
     * @param tunnel          whose upstream side this becomes on a 2xx
     * @param responseTimeout how long the proxy has to answer, from {@link #onOpen()}
     * @param promise         succeeded once the tunnel's connection is installed, or failed with a
     *                        {@link TunnelException} ({@link UpstreamRefusedException} for a non-2xx)
     * @throws IllegalArgumentException if the target or a header contains CR, LF or (target) white space
     */
    public Http1ConnectConnection(EndPoint endPoint, Executor executor, ByteBufferPool pool, Scheduler scheduler, String target, HttpFields headers,
                                  dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        super(endPoint, executor, pool, scheduler, "CONNECT " + target,
            requestHead("CONNECT " + checkTarget(Objects.requireNonNull(target, "target")) + " HTTP/1.1", target, "", Objects.requireNonNull(headers, "headers")),
            tunnel, responseTimeout, promise);
        this.target = target;
    }

    /** The factory to pass to {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions, Function, Promise)}. */
    public static Function<EndPoint, Connection> factory(Executor executor, ByteBufferPool pool, Scheduler scheduler, String target, HttpFields headers,
                                                         dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        return endPoint -> new Http1ConnectConnection(endPoint, executor, pool, scheduler, target, headers, tunnel, responseTimeout, promise);
    }

    @Override
    void install(ConnectAnswer answer, ByteBuffer early)
    {
        // Bytes after the header block are the first tunnel bytes (RFC 9110 §9.3.6), handed to
        // the tunnel's connection by the upgrade. The request's write is done by now: a proxy
        // answers only after the blank line, and the tunnel's pipes write only once the tunnel
        // starts, later still.
        leftover = early;
        getEndPoint().upgrade(tunnel.newUpstreamConnection(getEndPoint(), getExecutor(), EndPointAborter.TCP_RESET));
    }

    @Override
    public ByteBuffer onUpgradeFrom()
    {
        ByteBuffer early = leftover;
        leftover = null;
        return early;
    }

    @Override
    public String toConnectionString()
    {
        return "Http1ConnectConnection[%s,%s,status=%d]".formatted(tunnel.id(), target, status());
    }
}
