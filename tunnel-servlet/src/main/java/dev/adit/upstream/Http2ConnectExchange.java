package dev.adit.upstream;

import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import dev.adit.config.HostPort;
import dev.adit.core.Tunnel;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.HTTP2Stream;
import org.eclipse.jetty.http2.RetryableStreamException;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One forwarded CONNECT: waits for a stream slot, sends the HEADERS, and turns the upstream's
 * answer into a tunnel (2xx) or a classified failure. It is the {@link Stream.Listener} of its
 * stream for the stream's whole life, and forwards stream events to the
 * {@link Http2ClientStreamEndPoint} once the tunnel exists.
 *
 * <p>The promise is completed exactly once: state changes are compare-and-set, and the first
 * of response, reset, failure and timeout wins. The stream slot is returned to the pool exactly
 * once, when Jetty reports the stream closed (or when the stream could not be created).</p>
 */
final class Http2ConnectExchange implements Stream.Listener
{
    private static final Logger LOG = LoggerFactory.getLogger(Http2ConnectExchange.class);

    private enum State
    {
        /** Waiting for a stream slot. */
        QUEUED,
        /** HEADERS sent, waiting for the response. */
        SENT,
        /** 2xx received: the stream carries the tunnel. */
        TUNNEL,
        /** Non-2xx received: reading the body. */
        REFUSING,
        /** Failed, refused or timed out: the promise is completed. */
        DONE
    }

    private final AtomicReference<State> state = new AtomicReference<>(State.QUEUED);
    private final AtomicBoolean slotReleased = new AtomicBoolean();
    private final Http2ConnectPool pool;
    private final HostPort endpoint;
    private final MetaData.Request request;
    private final Tunnel tunnel;
    private final Duration responseTimeout;
    private final Promise<InetSocketAddress> promise;
    private volatile Http2PooledSession session;
    private volatile Stream stream;
    private volatile Http2ClientStreamEndPoint endPoint;
    private volatile Scheduler.Task timeout;
    private volatile boolean retried;
    // Set by onHeaders, fed by onDataAvailable, which Jetty serializes.
    private volatile UpstreamRefusal refusal;

    Http2ConnectExchange(Http2ConnectPool pool, HostPort endpoint, MetaData.Request request, Tunnel tunnel,
                         Duration responseTimeout, Promise<InetSocketAddress> promise)
    {
        this.pool = pool;
        this.endpoint = endpoint;
        this.request = request;
        this.tunnel = tunnel;
        this.responseTimeout = responseTimeout;
        this.promise = promise;
    }

    HostPort endpoint()
    {
        return endpoint;
    }

    /**
     * Sends the CONNECT on a slot reserved on {@code session}. Called without locks held.
     */
    void send(Http2PooledSession session)
    {
        this.session = session;
        this.slotReleased.set(false);
        if (!state.compareAndSet(State.QUEUED, State.SENT))
        {
            releaseSlot();
            return;
        }
        if (request.getProtocol() != null && session.session() instanceof HTTP2Session h2 && !h2.isConnectProtocolEnabled())
        {
            // RFC 8441 §3: :protocol only after the peer sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1.
            releaseSlot();
            fail(new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR, "upstream " + endpoint + " does not accept extended CONNECT (:protocol " + request.getProtocol() + ")"));
            return;
        }
        long millis = responseTimeout.toMillis();
        if (millis > 0)
            timeout = pool.scheduler().schedule(this::onResponseTimeout, millis, TimeUnit.MILLISECONDS);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} {} via {}", tunnel.id(), describe(), session);
        session.session().newStream(new HeadersFrame(request, null, false), new Promise<>()
        {
            @Override
            public void succeeded(Stream created)
            {
                // The response may already have been handled; a timeout that found no stream resets it here.
                if (state.get() == State.DONE && !created.isReset() && !created.isClosed())
                    created.reset(new ResetFrame(created.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
            }

            @Override
            public void failed(Throwable x)
            {
                onStreamNotCreated(x);
            }
        }, this);
    }

    /** Fails a request that never got a stream (queue full, connect failure, pool stopping). */
    void fail(TunnelException failure)
    {
        if (state.compareAndSet(State.QUEUED, State.DONE) || state.compareAndSet(State.SENT, State.DONE))
        {
            cancelTimeout();
            promise.failed(failure);
        }
    }

    boolean isDone()
    {
        return state.get() == State.DONE;
    }

    private void onStreamNotCreated(Throwable x)
    {
        releaseSlot();
        // RFC 9113 §8.7: a stream the peer did not process (GOAWAY, REFUSED_STREAM) may be retried,
        // and so may one that Jetty could not create because its session is closing.
        if (retry(x))
            return;
        fail(new TunnelException(TunnelFailure.CONNECT_FAILED, "cannot open a stream to " + endpoint + ": " + x, x));
    }

    /** Puts the request back in the queue once, if it can be retried on another connection. */
    private boolean retry(Throwable x)
    {
        boolean retryable = x instanceof RetryableStreamException || x instanceof ClosedChannelException ||
            x instanceof IllegalStateException || session.isGone();
        if (retried || !retryable || !state.compareAndSet(State.SENT, State.QUEUED))
            return false;
        retried = true;
        cancelTimeout();
        // The old stream's slot is returned; its late events must not touch the next one.
        releaseSlot();
        stream = null;
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} retrying CONNECT to {} after {}", tunnel.id(), endpoint, x.toString());
        pool.acquire(this);
        return true;
    }

    @Override
    public void onNewStream(Stream stream)
    {
        this.stream = stream;
    }

    @Override
    public void onHeaders(Stream stream, HeadersFrame frame)
    {
        if (!(frame.getMetaData() instanceof MetaData.Response response))
        {
            // Trailers end a refusal's body.
            if (frame.isEndStream() && state.get() == State.REFUSING)
                finishRefusal(stream);
            return;
        }
        int code = response.getStatus();
        if (HttpStatus.isInformational(code))
            return;
        if (HttpStatus.isSuccess(code))
            establish(stream);
        else
            startRefusal(stream, frame, response);
    }

    private void establish(Stream stream)
    {
        // The endpoint exists before the state says TUNNEL, so that a concurrent failure finds it.
        Http2ClientStreamEndPoint tunnelEndPoint = new Http2ClientStreamEndPoint((HTTP2Stream)stream);
        endPoint = tunnelEndPoint;
        if (!state.compareAndSet(State.SENT, State.TUNNEL))
            return;
        cancelTimeout();
        InetSocketAddress remote = (InetSocketAddress)stream.getSession().getRemoteSocketAddress();
        try
        {
            Connection connection = tunnel.newUpstreamConnection(tunnelEndPoint, pool.executor(), Http2ClientStreamEndPoint.ABORTER);
            // Opens the tunnel's upstream side. DATA that came with or after the 2xx waits in
            // the stream: nothing demanded it yet, the tunnel's first fill reads it.
            tunnelEndPoint.upgrade(connection);
        }
        catch (Throwable x)
        {
            Http2ClientStreamEndPoint.ABORTER.abort(tunnelEndPoint, x);
            promise.failed(new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR, "cannot install the tunnel on " + stream + ": " + x, x));
            return;
        }
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} established via {} stream {}", tunnel.id(), remote, stream.getId());
        promise.succeeded(remote);
    }

    private void startRefusal(Stream stream, HeadersFrame frame, MetaData.Response response)
    {
        if (!state.compareAndSet(State.SENT, State.REFUSING))
            return;
        refusal = new UpstreamRefusal(response.getStatus(), response.getHttpFields());
        if (frame.isEndStream())
            finishRefusal(stream);
        else
            stream.demand();
    }

    @Override
    public void onDataAvailable(Stream stream)
    {
        switch (state.get())
        {
            case TUNNEL -> endPoint.onDataAvailable();
            case REFUSING -> readRefusalBody(stream);
            default -> discard(stream);
        }
    }

    private void readRefusalBody(Stream stream)
    {
        while (true)
        {
            Stream.Data data = stream.readData();
            if (data == null)
            {
                stream.demand();
                return;
            }
            refusal.append(data.frame().getByteBuffer());
            boolean last = data.frame().isEndStream();
            data.release();
            if (last)
            {
                finishRefusal(stream);
                return;
            }
        }
    }

    private static void discard(Stream stream)
    {
        while (true)
        {
            Stream.Data data = stream.readData();
            if (data == null)
                return;
            data.release();
            if (data.frame().isEndStream())
                return;
        }
    }

    private void finishRefusal(Stream stream)
    {
        if (!state.compareAndSet(State.REFUSING, State.DONE))
            return;
        cancelTimeout();
        // The upstream ended its side; end ours too, so that it frees the stream (RFC 9113 §8.1).
        if (!stream.isReset())
            stream.reset(new ResetFrame(stream.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        promise.failed(refused(""));
    }

    private UpstreamRefusedException refused(String note)
    {
        return refusal.toException("upstream " + endpoint + " answered " + describe() + " with " + refusal.status() + note);
    }

    @Override
    public void onReset(Stream stream, ResetFrame frame, Callback callback)
    {
        String code = ErrorCode.toString(frame.getError(), "error " + frame.getError());
        State current = state.get();
        if (current == State.TUNNEL)
        {
            endPoint.onFailure(new EofException("upstream reset the stream: " + code));
        }
        else if (current == State.SENT && frame.getError() == ErrorCode.REFUSED_STREAM_ERROR.code && retry(new RetryableStreamException()))
        {
            // Not processed by the peer (RFC 9113 §8.7): tried again on a connection with a free slot.
            if (LOG.isDebugEnabled())
                LOG.debug("tunnel {} stream refused by {}, retried", tunnel.id(), endpoint);
        }
        else if (state.compareAndSet(State.SENT, State.DONE))
        {
            cancelTimeout();
            TunnelFailure failure = frame.getError() == ErrorCode.HTTP_CONNECT_ERROR.code || frame.getError() == ErrorCode.REFUSED_STREAM_ERROR.code
                ? TunnelFailure.CONNECT_FAILED : TunnelFailure.UPSTREAM_PROTOCOL_ERROR;
            promise.failed(new TunnelException(failure, "upstream " + endpoint + " reset the " + describe() + " with " + code));
        }
        else if (state.compareAndSet(State.REFUSING, State.DONE))
        {
            cancelTimeout();
            promise.failed(refused(" (body cut by RST_STREAM " + code + ")"));
        }
        callback.succeeded();
    }

    @Override
    public void onFailure(Stream stream, int error, String reason, Throwable failure, Callback callback)
    {
        State current = state.get();
        if (current == State.TUNNEL)
        {
            endPoint.onFailure(failure);
        }
        else if (current == State.SENT && failure instanceof RetryableStreamException && retry(failure))
        {
            if (LOG.isDebugEnabled())
                LOG.debug("tunnel {} stream not processed by {} (GOAWAY), retried", tunnel.id(), endpoint);
        }
        else if (state.compareAndSet(State.SENT, State.DONE) || state.compareAndSet(State.REFUSING, State.DONE))
        {
            cancelTimeout();
            promise.failed(new TunnelException(TunnelFailure.UPSTREAM_PROTOCOL_ERROR,
                "connection to upstream " + endpoint + " failed before it answered the CONNECT: " + failure, failure));
        }
        callback.succeeded();
    }

    @Override
    public void onIdleTimeout(Stream stream, TimeoutException timeout, Promise<Boolean> expire)
    {
        if (state.get() == State.TUNNEL)
        {
            expire.succeeded(endPoint.onIdleExpired(timeout));
            return;
        }
        onResponseTimeout();
        expire.succeeded(false);
    }

    @Override
    public void onClosed(Stream stream)
    {
        if (stream == this.stream)
            releaseSlot();
    }

    private void onResponseTimeout()
    {
        if (!state.compareAndSet(State.SENT, State.DONE) && !state.compareAndSet(State.REFUSING, State.DONE))
            return;
        Stream current = stream;
        if (current != null && !current.isReset())
            current.reset(new ResetFrame(current.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
        promise.failed(new TunnelException(TunnelFailure.CONNECT_TIMEOUT,
            "upstream " + endpoint + " did not answer " + describe() + " within " + responseTimeout.toMillis() + " ms"));
    }

    private void cancelTimeout()
    {
        Scheduler.Task task = timeout;
        if (task != null)
            task.cancel();
    }

    private void releaseSlot()
    {
        Http2PooledSession current = session;
        if (current != null && slotReleased.compareAndSet(false, true))
            current.release();
    }

    /** @return {@code CONNECT host:port}, or {@code POST host:port/path} for a POST tunnel */
    private String describe()
    {
        String authority = request.getHttpURI().getAuthority();
        return HttpMethod.CONNECT.is(request.getMethod()) ? "CONNECT " + authority : request.getMethod() + " " + authority + request.getHttpURI().getPath();
    }

    @Override
    public String toString()
    {
        return "Http2ConnectExchange[%s,%s,%s]".formatted(tunnel.id(), request.getHttpURI().getAuthority(), state.get());
    }
}
