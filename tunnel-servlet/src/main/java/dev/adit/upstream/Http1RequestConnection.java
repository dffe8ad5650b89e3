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

import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ByteBufferPool;
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
 * The part that HTTP/1.1 tunnel requests share ({@link Http1ConnectConnection} for CONNECT,
 * {@link Http1PostConnection} for POST tunnels): send the request head, read the answer's head
 * with Jetty's {@link HttpParser}, and settle the outcome once. What a 2xx turns into is the
 * subclass's {@link #install}.
 *
 * <p>On open it writes the request head and parses the answer:</p>
 * <ul>
 * <li>2xx: parsing stops right after the header block; {@link #install} gets the bytes that
 *     followed it (a copy), and the promise succeeds once it returned.</li>
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
 * returns; the bytes handed to {@link #install} are a copy. Threading: reads run on Jetty's I/O
 * threads, the timeout on the scheduler; exactly one outcome completes the promise, on either
 * kind of thread, so the promise must not block.</p>
 */
abstract class Http1RequestConnection extends AbstractConnection
{
    /** The most body bytes of a refusal kept for the client. */
    static final int MAX_BODY = 64 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(Http1RequestConnection.class);
    private static final int BUFFER_SIZE = 8 * 1024;
    private static final int MAX_HEADER_BYTES = 16 * 1024;
    /** RFC 9110 §7.6.1 and the legacy ones: never forwarded, in either direction. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length");

    // Qualified: Connection.Tunnel, inherited from the Connection interface, shadows the simple name.
    protected final dev.adit.core.Tunnel tunnel;
    private final ByteBufferPool pool;
    private final Scheduler scheduler;
    private final String request;
    private final ByteBuffer requestHead;
    private final Duration responseTimeout;
    private final Promise<Void> promise;
    private final String proxy;
    private final AtomicBoolean done = new AtomicBoolean();
    private final ConnectAnswer answer = new ConnectAnswer(MAX_BODY);
    private final HttpParser parser = new HttpParser(answer, MAX_HEADER_BYTES);
    private volatile Scheduler.Task timeout;
    private boolean eof;

    /**
     * @param request     what is asked, for messages: {@code CONNECT example.com:443}
     * @param requestHead the request line, headers and blank line, as sent
     */
    Http1RequestConnection(EndPoint endPoint, Executor executor, ByteBufferPool pool, Scheduler scheduler, String request, ByteBuffer requestHead,
                           dev.adit.core.Tunnel tunnel, Duration responseTimeout, Promise<Void> promise)
    {
        super(endPoint, executor);
        this.pool = Objects.requireNonNull(pool, "pool");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.request = Objects.requireNonNull(request, "request");
        this.requestHead = Objects.requireNonNull(requestHead, "requestHead");
        this.tunnel = Objects.requireNonNull(tunnel, "tunnel");
        this.responseTimeout = Objects.requireNonNull(responseTimeout, "responseTimeout");
        this.promise = Objects.requireNonNull(promise, "promise");
        this.proxy = describe(endPoint.getRemoteSocketAddress());
    }

    /**
     * A request head: {@code requestLine}, {@code Host: host}, the {@code fixed} lines, then the
     * caller's end-to-end headers (Host and hop-by-hop ones dropped), and the blank line.
     *
     * @param fixed header lines this request always carries, each ending in CRLF; may be empty
     * @throws IllegalArgumentException if a header contains CR or LF
     */
    static ByteBuffer requestHead(String requestLine, String host, String fixed, HttpFields headers)
    {
        Set<String> dropped = hopByHop(headers);
        dropped.add("host");
        StringBuilder head = new StringBuilder(256);
        head.append(requestLine).append("\r\n");
        head.append("Host: ").append(host).append("\r\n");
        head.append(fixed);
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

    /** @throws IllegalArgumentException if {@code target} is not a plausible authority (empty, white space, control or non-ASCII characters) */
    static String checkTarget(String target)
    {
        if (target.isEmpty() || target.chars().anyMatch(c -> c <= ' ' || c >= 0x7F))
            throw new IllegalArgumentException("target: '" + target + "' (expected: an authority such as host:port)");
        return target;
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

    /**
     * Makes the tunnel's upstream side out of the answered connection and installs it on the
     * endpoint (opening it), after a 2xx. Called once, on the thread reading the answer, after
     * the outcome was decided and the timeout cancelled; the promise succeeds when it returns.
     *
     * @param answer the 2xx answer's head (status, every header as received)
     * @param early  the bytes that followed the header block in the same read (a copy), or null
     * @throws TunnelException the answer cannot open the tunnel after all; the promise fails
     *                         with it and the connection is closed
     */
    abstract void install(ConnectAnswer answer, ByteBuffer early) throws TunnelException;

    /** @return the upstream proxy's address as {@code host:port}, for messages */
    String proxy()
    {
        return proxy;
    }

    /** @return what is asked, for messages: {@code CONNECT example.com:443} */
    String request()
    {
        return request;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        timeout = scheduler.schedule(this::onResponseTimeout, responseTimeout.toMillis(), TimeUnit.MILLISECONDS);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {}: {} via upstream proxy {}", tunnel.id(), request, proxy);
        getEndPoint().write(Callback.from(Invocable.InvocationType.NON_BLOCKING, () -> {}, this::onWriteFailed), requestHead.slice());
        if (!done.get())
            fillInterested();
    }

    private void onWriteFailed(Throwable x)
    {
        fail(new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR,
            "sending " + request + " to upstream proxy " + proxy + " failed: " + Dial.messageOf(x), x));
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
            fail(protocolError("101 is not an answer to " + request.substring(0, request.indexOf(' '))));
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
        // The pooled buffer goes back to the pool: what followed the head is handed over as a copy.
        ByteBuffer early = buffer.hasRemaining() ? BufferUtil.copy(buffer) : null;
        BufferUtil.clear(buffer);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {}: upstream proxy {} answered {} to {} ({} early bytes)", tunnel.id(), proxy, answer.status(), request,
                early == null ? 0 : early.remaining());
        try
        {
            install(answer, early);
        }
        catch (TunnelException x)
        {
            if (LOG.isDebugEnabled())
                LOG.debug("tunnel {}: {}", tunnel.id(), x.getMessage());
            getEndPoint().close(x);
            promise.failed(x);
            return;
        }
        catch (Throwable x)
        {
            getEndPoint().close(x);
            promise.failed(new TunnelException(TunnelFailure.CONNECT_FAILED, "installing tunnel " + tunnel.id() + " on " + proxy + " failed: " + x, x));
            return;
        }
        promise.succeeded(null);
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
        String reason = "upstream proxy " + proxy + " refused " + request + ": " + r.status() + (r.reason() == null ? "" : " " + r.reason())
            + (r.isBodyTruncated() ? " (body truncated to " + MAX_BODY + " bytes)" : "");
        UpstreamRefusedException refused = new UpstreamRefusedException(reason, r.status(), headers, ByteBuffer.wrap(r.body()));
        getEndPoint().close(refused);
        promise.failed(refused);
    }

    TunnelException protocolError(String what)
    {
        return protocolError(what, null);
    }

    private TunnelException protocolError(String what, Throwable cause)
    {
        return new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR, request + " via upstream proxy " + proxy + ": " + what, cause);
    }

    private void onResponseTimeout()
    {
        String reason = "upstream proxy " + proxy + " did not answer " + request + " within " + responseTimeout.toMillis() + " ms";
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
        fail(new TunnelException(TunnelFailure.CONNECT_TIMEOUT, "upstream proxy " + proxy + " idle while answering " + request, timeoutException));
        return true;
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        // After an outcome this changes nothing.
        fail(protocolError("the connection closed before the answer", cause));
    }

    private static String describe(SocketAddress address)
    {
        if (address instanceof InetSocketAddress inet)
            return inet.getHostString() + ":" + inet.getPort();
        return String.valueOf(address);
    }

    /** @return the answer's status so far, for {@code toConnectionString()} */
    int status()
    {
        return answer.status();
    }
}
