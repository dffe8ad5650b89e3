package dev.adit.upstream;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import dev.adit.core.EndPointAborter;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>Buffers: each read borrows one pooled buffer and returns it before {@code onFillable}
 * returns; the bytes handed to the tunnel are a copy. Threading: reads run on Jetty's I/O
 * threads, the timeout on the scheduler; exactly one outcome completes the promise, on either
 * kind of thread, so the promise must not block.</p>
 */
public final class Http1ConnectConnection extends AbstractConnection implements Connection.UpgradeFrom
{
    /** The most body bytes of a refusal kept for the client. */
    public static final int MAX_BODY = 64 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(Http1ConnectConnection.class);
    private static final int BUFFER_SIZE = 8 * 1024;
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    /** RFC 9110 §7.6.1 and the legacy ones: never forwarded, in either direction. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length");

    private final ByteBufferPool pool;
    private final Scheduler scheduler;
    private final String target;
    private final ByteBuffer requestHead;
    // Qualified: Connection.Tunnel, inherited from the Connection interface, shadows the simple name.
    private final dev.adit.core.Tunnel tunnel;
    private final Duration responseTimeout;
    private final Promise<Void> promise;
    private final String proxy;
    private final AtomicBoolean done = new AtomicBoolean();
    private final ConnectAnswer answer = new ConnectAnswer(MAX_BODY);
    private final HttpParser parser = new HttpParser(answer, MAX_HEADER_BYTES);
    private volatile Scheduler.Task timeout;
    private boolean eof;
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
        super(endPoint, executor);
        this.pool = Objects.requireNonNull(pool, "pool");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.target = Objects.requireNonNull(target, "target");
        this.tunnel = Objects.requireNonNull(tunnel, "tunnel");
        this.responseTimeout = Objects.requireNonNull(responseTimeout, "responseTimeout");
        this.promise = Objects.requireNonNull(promise, "promise");
        this.requestHead = requestHead(target, Objects.requireNonNull(headers, "headers"));
        this.proxy = describe(endPoint.getRemoteSocketAddress());
    }

    /** The factory to pass to {@link TcpUpstream#connect(dev.adit.policy.Authority, DialOptions, Function, Promise)}. */
    public static Function<EndPoint, Connection> factory(Executor executor, ByteBufferPool pool, Scheduler scheduler, String target, HttpFields headers,
                                                         dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        return endPoint -> new Http1ConnectConnection(endPoint, executor, pool, scheduler, target, headers, tunnel, responseTimeout, promise);
    }

    private static ByteBuffer requestHead(String target, HttpFields headers)
    {
        if (target.isEmpty() || target.chars().anyMatch(c -> c <= ' ' || c >= 0x7F))
            throw new IllegalArgumentException("target: '" + target + "' (expected: an authority such as host:port)");
        Set<String> dropped = hopByHop(headers);
        dropped.add("host");
        StringBuilder head = new StringBuilder(256);
        head.append("CONNECT ").append(target).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(target).append("\r\n");
        for (HttpField field : headers)
        {
            if (dropped.contains(field.getLowerCaseName()))
                continue;
            String value = field.getValue() == null ? "" : field.getValue();
            if (hasLineBreak(field.getName()) || hasLineBreak(value))
                throw new IllegalArgumentException("header " + field.getName() + ": contains CR or LF");
            head.append(field.getName()).append(": ").append(value).append("\r\n");
        }
        head.append("\r\n");
        return ByteBuffer.wrap(head.toString().getBytes(StandardCharsets.ISO_8859_1)).asReadOnlyBuffer();
    }

    private static boolean hasLineBreak(String s)
    {
        return s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0;
    }

    /** The hop-by-hop names, plus those the Connection header lists (RFC 9110 §7.6.1), lower case. */
    private static Set<String> hopByHop(HttpFields fields)
    {
        Set<String> names = new HashSet<>(HOP_BY_HOP);
        for (HttpField connection : fields.getFields(HttpHeader.CONNECTION))
        {
            for (String token : connection.getValues())
                names.add(token.trim().toLowerCase(Locale.ROOT));
        }
        return names;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        timeout = scheduler.schedule(this::onResponseTimeout, responseTimeout.toMillis(), TimeUnit.MILLISECONDS);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {}: CONNECT {} via upstream proxy {}", tunnel.id(), target, proxy);
        getEndPoint().write(Callback.from(Invocable.InvocationType.NON_BLOCKING, () -> {}, this::onWriteFailed), requestHead.slice());
        if (!done.get())
            fillInterested();
    }

    private void onWriteFailed(Throwable x)
    {
        fail(new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR,
            "sending CONNECT " + target + " to upstream proxy " + proxy + " failed: " + Dial.messageOf(x), x));
    }

    @Override
    public void onFillable()
    {
        RetainableByteBuffer retainable = pool.acquire(BUFFER_SIZE, false);
        ByteBuffer buffer = retainable.getByteBuffer();
        try
        {
            boolean handled = false;
            while (!done.get())
            {
                if (!buffer.hasRemaining() && !handled)
                {
                    if (eof)
                    {
                        fail(protocolError("the connection closed before a complete answer"));
                        return;
                    }
                    BufferUtil.clear(buffer);
                    int filled = getEndPoint().fill(buffer);
                    if (filled == 0)
                    {
                        fillInterested();
                        return;
                    }
                    if (filled < 0)
                    {
                        if (!answer.isHeaderComplete())
                        {
                            // Decided here rather than by the parser, which in Jetty 12.1.12
                            // reports this case with an HttpException built from the 2xx status
                            // it parsed (an AssertionError under -ea).
                            fail(protocolError("the connection closed before a complete header block"));
                            return;
                        }
                        eof = true;
                        parser.atEOF();
                    }
                }
                try
                {
                    // True when a handler stopped the parser: parse again even without new bytes.
                    handled = parser.parseNext(buffer);
                }
                catch (Throwable x)
                {
                    // Some parser errors escape badMessage() (see above); still a malformed answer.
                    fail(protocolError("malformed answer (" + x + ")", x));
                    return;
                }
                if (decide(buffer))
                    return;
            }
        }
        catch (Throwable x)
        {
            fail(protocolError("reading the answer failed: " + Dial.messageOf(x), x));
        }
        finally
        {
            retainable.release();
        }
    }

    /** @return whether the answer so far decides the outcome (which is then reported) */
    private boolean decide(ByteBuffer buffer)
    {
        ConnectAnswer r = answer;
        if (r.error() != null)
        {
            fail(protocolError("malformed answer: " + r.error()));
            return true;
        }
        if (r.isHeaderComplete() && r.status() >= 200 && r.status() < 300)
        {
            establish(buffer);
            return true;
        }
        if (r.isHeaderComplete() && r.status() == 101)
        {
            fail(protocolError("101 is not an answer to CONNECT"));
            return true;
        }
        if (r.isHeaderComplete() && r.status() < 200)
        {
            // An interim answer: wait for the final one.
            if (r.isMessageComplete())
            {
                parser.reset();
                r.reset();
            }
            return false;
        }
        if (r.isMessageComplete() || r.isBodyTruncated() || (r.isEarlyEof() && r.isHeaderComplete()))
        {
            refuse();
            return true;
        }
        if (r.isEarlyEof())
        {
            fail(protocolError("the connection closed before a complete answer"));
            return true;
        }
        return false;
    }

    private void establish(ByteBuffer buffer)
    {
        if (!done.compareAndSet(false, true))
            return;
        cancelTimeout();
        // Bytes after the header block are the first tunnel bytes (RFC 9110 §9.3.6): the tunnel's
        // connection gets a copy, since the pooled buffer goes back to the pool. The request's
        // write is done by now: a proxy answers only after the blank line, and the tunnel's
        // pipes write only once the tunnel starts, later still.
        leftover = buffer.hasRemaining() ? BufferUtil.copy(buffer) : null;
        BufferUtil.clear(buffer);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {}: upstream proxy {} answered {} to CONNECT {} ({} early bytes)", tunnel.id(), proxy, answer.status(), target,
                leftover == null ? 0 : leftover.remaining());
        try
        {
            getEndPoint().upgrade(tunnel.newUpstreamConnection(getEndPoint(), getExecutor(), EndPointAborter.TCP_RESET));
        }
        catch (Throwable x)
        {
            getEndPoint().close(x);
            promise.failed(new TunnelException(TunnelFailure.CONNECT_FAILED, "installing tunnel " + tunnel.id() + " on " + proxy + " failed: " + x, x));
            return;
        }
        promise.succeeded(null);
    }

    @Override
    public ByteBuffer onUpgradeFrom()
    {
        ByteBuffer early = leftover;
        leftover = null;
        return early;
    }

    private void refuse()
    {
        if (!done.compareAndSet(false, true))
            return;
        cancelTimeout();
        ConnectAnswer r = answer;
        HttpFields.Mutable headers = HttpFields.build();
        Set<String> dropped = hopByHop(r.headers());
        for (HttpField field : r.headers())
        {
            if (!dropped.contains(field.getLowerCaseName()))
                headers.add(field);
        }
        String reason = "upstream proxy " + proxy + " refused CONNECT " + target + ": " + r.status() + (r.reason() == null ? "" : " " + r.reason())
            + (r.isBodyTruncated() ? " (body truncated to " + MAX_BODY + " bytes)" : "");
        UpstreamRefusedException refused = new UpstreamRefusedException(reason, r.status(), headers, ByteBuffer.wrap(r.body()));
        getEndPoint().close(refused);
        promise.failed(refused);
    }

    private TunnelException protocolError(String what)
    {
        return protocolError(what, null);
    }

    private TunnelException protocolError(String what, Throwable cause)
    {
        return new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR, "CONNECT " + target + " via upstream proxy " + proxy + ": " + what, cause);
    }

    private void onResponseTimeout()
    {
        String reason = "upstream proxy " + proxy + " did not answer CONNECT " + target + " within " + responseTimeout.toMillis() + " ms";
        fail(new TunnelException(TunnelFailure.CONNECT_TIMEOUT, reason, new TimeoutException(reason)));
    }

    private void fail(TunnelException failure)
    {
        if (!done.compareAndSet(false, true))
            return;
        cancelTimeout();
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {}: {}", tunnel.id(), failure.getMessage());
        getEndPoint().close(failure);
        promise.failed(failure);
    }

    private void cancelTimeout()
    {
        Scheduler.Task task = timeout;
        if (task != null)
            task.cancel();
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeoutException)
    {
        fail(new TunnelException(TunnelFailure.CONNECT_TIMEOUT, "upstream proxy " + proxy + " idle while answering CONNECT " + target, timeoutException));
        return true;
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        // After an outcome (the upgrade closes this connection too) this changes nothing.
        fail(protocolError("the connection closed before the answer", cause));
    }

    private static String describe(SocketAddress address)
    {
        if (address instanceof InetSocketAddress inet)
            return inet.getHostString() + ":" + inet.getPort();
        return String.valueOf(address);
    }

    @Override
    public String toConnectionString()
    {
        return "Http1ConnectConnection[%s,%s,status=%d]".formatted(tunnel.id(), target, answer.status());
    }
}
