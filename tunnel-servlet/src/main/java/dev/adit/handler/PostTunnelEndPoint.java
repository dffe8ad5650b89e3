package dev.adit.handler;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadPendingException;
import java.nio.channels.WritePendingException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.adit.core.EndPointAborter;
import dev.adit.core.TunnelEndPointSupport;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.IdleTimeout;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EndPoint} over one HTTP exchange of Jetty's core API, for POST tunnels (Envoy's
 * {@code allow_post}): the request body is the byte stream towards the target, the response
 * body the stream back. The tunnel core ({@code dev.adit.core.Tunnel} and its pipes) runs on it
 * unchanged, over HTTP/1.1 (chunked request and response bodies) and HTTP/2 (DATA frames).
 *
 * <p><b>Reading</b> ({@link RequestBodySource}). {@link #fill} copies from {@link Request#read()}
 * chunks, keeping a partly consumed chunk and releasing each one once consumed. It returns 0
 * when nothing is available and -1 once the last chunk was consumed: the end of the request
 * body (the terminating chunk, or END_STREAM) is the client's half-close. A failure chunk
 * (stream reset, broken connection) is thrown as an {@link IOException}. {@link #fillInterested}
 * allows one pending interest ({@link ReadPendingException} otherwise) and calls
 * {@link Request#demand}. What the client sent before the tunnel started is still in the
 * request body, so {@link #upgrade} has no bytes to hand over.</p>
 *
 * <p><b>Writing</b> ({@link ResponseBodySink}). {@link #write(Callback, ByteBuffer...)} is
 * {@code response.write(false, ...)}, one at a time ({@link WritePendingException} otherwise);
 * as in Jetty's {@code HTTP2StreamEndPoint} all the work is done there and {@link #flush} only
 * reports that content cannot be flushed synchronously. The response head must be committed
 * before the first write, so that the writes never race the commit ({@link PostTunnel#start}
 * does it); on HTTP/1.1 the body is then chunked. {@link #shutdownOutput()} ends the response
 * body ({@code response.write(true, ...)}: the terminating chunk, or END_STREAM), after a
 * pending write if there is one.</p>
 *
 * <p><b>Completing the exchange.</b> The handler's callback, given to the constructor, belongs
 * to this endpoint and is completed exactly once:</p>
 * <ul>
 * <li><em>succeeded</em> when both directions ended cleanly: a fill consumed the last request
 * chunk <em>and</em> the end of the response body was written; whichever comes second
 * completes it. Earlier would be wrong: Jetty would treat the unread rest of the request body
 * as abandoned (HTTP/2 resets the stream, HTTP/1.1 closes the connection), cutting off a client
 * that is still sending after the target finished. A clean {@link #close()} (input ended,
 * output shut down) that comes while the end of the response is still being written, as the
 * tunnel's does, waits for that write;</li>
 * <li><em>failed</em> on every other path: {@link #close(Throwable)} with a cause, {@link #close()}
 * before both directions ended, the {@link #ABORTER}, a failed end of the response,
 * {@link #cancelWrite}. Jetty then resets the HTTP/2 stream (RST_STREAM CANCEL) or closes the
 * HTTP/1.1 connection without the terminating chunk, so the client cannot mistake a failure
 * for a clean end.</li>
 * </ul>
 * <p>Failures Jetty reports while no read or write is pending (a client's RST_STREAM during a
 * quiet moment) arrive through {@link Request#addFailureListener} and close this endpoint with
 * that cause, which reaches the connection as {@link Connection#onClose(Throwable)}.</p>
 *
 * <p><b>Idle timeout.</b> This endpoint keeps its own {@link IdleTimeout} on the request's
 * scheduler. Activity is a fill that returned bytes and the start or completion of a write.
 * On expiry it calls {@link Connection#onIdleExpired}, and closes with the timeout if that
 * returns true. Once {@link #setIdleTimeout} is called (the tunnel does when it starts), Jetty's
 * own idle timeout of the exchange's {@link HttpStream} (the HTTP/1.1 socket's, or the HTTP/2
 * stream's) is disabled: it would fire on the same silence, but reach the tunnel as a read or
 * write failure instead of an idle timeout, and a connector idle timeout shorter than the
 * tunnel's would cut quiet tunnels. The original value is restored before the callback
 * completes, as an HTTP/1.1 connection may serve further requests.</p>
 *
 * <p><b>Threading.</b> All methods may be called from any thread; {@link #fill} by one reader
 * at a time and {@link #write} by one writer at a time, as the pipes do, while close may race
 * both. Nothing blocks. Fill-interest and write callbacks are invoked with the invocation type
 * of the caller's callback, so the non-blocking pipes may run on I/O threads.</p>
 */
public class PostTunnelEndPoint extends TunnelEndPointSupport
{
    /**
     * Aborts a {@link PostTunnelEndPoint} by failing the handler's callback: Jetty answers with
     * RST_STREAM on HTTP/2 and a closed connection (no terminating chunk) on HTTP/1.1. Any other
     * endpoint gets {@link EndPointAborter#TCP_RESET}.
     */
    public static final EndPointAborter ABORTER = (endPoint, cause) ->
    {
        if (endPoint instanceof PostTunnelEndPoint post)
            post.abort(cause);
        else
            EndPointAborter.TCP_RESET.abort(endPoint, cause);
    };

    private static final Logger LOG = LoggerFactory.getLogger(PostTunnelEndPoint.class);

    private final Request request;
    private final Callback callback;
    private final RequestBodySource source;
    private final ResponseBodySink sink;
    private final IdleTimeout idleness;
    private final HttpStream httpStream;
    private final AtomicBoolean completed = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long jettyIdleTimeout = -1;

    /**
     * Takes over the exchange: registers for Jetty's failure and idle-timeout notifications.
     *
     * @param request  the POST being handled; its body is read by {@link #fill}
     * @param response its response; the status and headers are the caller's to set and commit
     * @param callback the handler's callback, completed by this endpoint from now on
     */
    public PostTunnelEndPoint(Request request, Response response, Callback callback)
    {
        super(LOG);
        this.request = request;
        this.callback = callback;
        this.idleness = newIdleTimeout(request.getComponents().getScheduler(), () -> isOpen() && !completed.get());
        this.source = new RequestBodySource(request, this::completeIfBothEnded, this::onIdleTimeout);
        this.sink = new ResponseBodySink(response, idleness::notIdle, this::completeIfBothEnded, this::onEndFailed);
        HttpStream[] stream = new HttpStream[1];
        // Only to reach the stream's idle timeout: the stream is returned unchanged.
        request.addHttpStreamWrapper(s ->
        {
            stream[0] = s;
            return s;
        });
        this.httpStream = stream[0];
        request.addFailureListener(this::onJettyFailure);
        request.addIdleTimeoutListener(this::onJettyIdleTimeout);
    }

    /** @return the request whose body this endpoint reads */
    public Request getRequest()
    {
        return request;
    }

    // ---- addresses and state ----

    @Override
    public SocketAddress getLocalSocketAddress()
    {
        return request.getConnectionMetaData().getLocalSocketAddress();
    }

    @Override
    public SocketAddress getRemoteSocketAddress()
    {
        return request.getConnectionMetaData().getRemoteSocketAddress();
    }

    /** @return the request: a POST tunnel's transport is the HTTP exchange */
    @Override
    public Object getTransport()
    {
        return request;
    }

    /** @return the TLS session of the exchange, as {@code SecureRequestCustomizer} exposes it; null when not secure */
    @Override
    public SslSessionData getSslSessionData()
    {
        return request.getAttribute(SslSessionData.ATTRIBUTE) instanceof SslSessionData data ? data : null;
    }

    @Override
    public boolean isOpen()
    {
        return !closed.get();
    }

    @Override
    public boolean isInputShutdown()
    {
        return closed.get() || source.isEnded();
    }

    @Override
    public boolean isOutputShutdown()
    {
        return closed.get() || sink.isOutputShutdown();
    }

    // ---- reading ----

    @Override
    public int fill(ByteBuffer buffer) throws IOException
    {
        int filled = source.fill(buffer);
        if (filled > 0)
            idleness.notIdle();
        return filled;
    }

    @Override
    public void fillInterested(Callback callback) throws ReadPendingException
    {
        source.fillInterested(callback);
    }

    @Override
    public boolean tryFillInterested(Callback callback)
    {
        return source.tryFillInterested(callback);
    }

    @Override
    public boolean isFillInterested()
    {
        return source.isFillInterested();
    }

    // ---- writing ----

    @Override
    public boolean flush(ByteBuffer... buffers) throws IOException
    {
        return sink.flush(buffers);
    }

    @Override
    public void write(Callback callback, ByteBuffer... buffers) throws WritePendingException
    {
        sink.write(callback, buffers);
    }

    @Override
    public void shutdownOutput()
    {
        if (LOG.isDebugEnabled())
            LOG.debug("shutting output down {}", this);
        sink.shutdownOutput();
    }

    /** Refuses further writes and fails the exchange, which aborts the write in Jetty's hands. */
    @Override
    public Callback cancelWrite(Throwable cause)
    {
        Callback cancelled = sink.cancel(cause);
        complete(cause);
        return cancelled;
    }

    // ---- completion and closing ----

    private void completeIfBothEnded()
    {
        if (source.isEnded() && sink.isEndWritten())
            complete(null);
    }

    /** Completes the handler's callback once: succeeded for a null failure. */
    private void complete(Throwable failure)
    {
        if (!completed.compareAndSet(false, true))
            return;
        idleness.onClose();
        // Before the callback: once it completes, an HTTP/1.1 connection may serve a new request.
        long original = jettyIdleTimeout;
        if (original >= 0 && httpStream != null)
            httpStream.setIdleTimeout(original);
        if (LOG.isDebugEnabled())
            LOG.debug("completing {}", this, failure);
        if (failure == null)
            callback.succeeded();
        else
            callback.failed(failure);
    }

    /**
     * Closes this endpoint. Without a cause this is clean if the input has ended and the output
     * was shut down (its end may still be in flight: the callback then completes once it is
     * written); otherwise, and always with a cause, the handler's callback fails.
     */
    @Override
    public void close(Throwable cause)
    {
        if (!closed.compareAndSet(false, true))
            return;
        boolean clean = cause == null && source.isEnded() && sink.isShutdownRequested();
        if (LOG.isDebugEnabled())
            LOG.debug("closing {} clean={}", this, clean, cause);
        idleness.onClose();
        if (!clean)
            complete(cause != null ? cause : new EofException("closed before both directions ended"));
        source.close(cause);
        Connection c = getConnection();
        if (c != null)
            c.onClose(cause);
        onClose(cause);
    }

    /** Ends the exchange abortively, even when it was about to finish cleanly. */
    void abort(Throwable cause)
    {
        Throwable failure = cause != null ? cause : new EofException("aborted");
        // HTTP/2: the stream's reset, first and uncounted by the rate control (Http2TunnelResets).
        if (request.getConnectionMetaData().getHttpVersion() == HttpVersion.HTTP_2)
            Http2Streams.resetPostTunnel(request);
        complete(failure);
        close(failure);
    }

    private void onEndFailed(Throwable failure)
    {
        // Fail first: a clean close() may already have happened and now waits for this end.
        complete(failure);
        close(failure);
    }

    /** Jetty saw the exchange fail while nothing was pending (e.g. a client's RST_STREAM). */
    private void onJettyFailure(Throwable failure)
    {
        if (LOG.isDebugEnabled())
            LOG.debug("exchange failed under {}", this, failure);
        close(failure);
    }

    /**
     * Jetty's own idle timeout fired while nothing was pending. It is disabled once the tunnel
     * set its own, so this happens only before: Jetty fails the exchange unless a connection
     * is installed to handle it as ours.
     */
    private boolean onJettyIdleTimeout(TimeoutException timeout)
    {
        if (getConnection() == null)
            return true;
        onIdleTimeout(timeout);
        return false;
    }

    // ---- idle timeout ----

    @Override
    public long getIdleTimeout()
    {
        return idleness.getIdleTimeout();
    }

    @Override
    public void setIdleTimeout(long idleTimeout)
    {
        HttpStream stream = httpStream;
        if (stream != null && !completed.get())
        {
            if (jettyIdleTimeout < 0)
                jettyIdleTimeout = stream.getIdleTimeout();
            stream.setIdleTimeout(0);
        }
        idleness.setIdleTimeout(idleTimeout);
    }

    // ---- connection ----

    /** Arms the idle timeout. */
    @Override
    public void onOpen()
    {
        idleness.onOpen();
    }

    @Override
    public String toString()
    {
        return "PostTunnelEndPoint@%x[%s,in=%s,out=%s,closed=%b,%s]".formatted(hashCode(),
            request.getConnectionMetaData().getHttpVersion(), source.state(), sink.state(), closed.get(), describe(getConnection()));
    }
}
