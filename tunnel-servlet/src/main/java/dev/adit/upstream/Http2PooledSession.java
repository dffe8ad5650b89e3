package dev.adit.upstream;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pooled HTTP/2 connection to an upstream endpoint, and the {@link Session.Listener} of its
 * session. It counts its active streams itself: Jetty fails a new stream beyond the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS instead of queueing it.
 *
 * <p><b>Keepalive</b> (when the pool's ping interval is not zero): from the moment the session
 * joins the pool until it is gone, a PING goes out once the interval has passed since the last
 * PING ACK (or since the session joined), one at a time. No ACK within the ping timeout means
 * the peer or the path to it is dead, whatever TCP still believes: the destination drops the
 * session and {@linkplain #abort aborts} it, which ends its tunnels. PINGs touch neither the
 * pool's idleness (the count of streams) nor the tunnels' idle timeouts (a PING belongs to no
 * stream); they do count as I/O for the connector's idle timeout, which is why the pool, not
 * the connector, decides when a connection is idle.</p>
 *
 * <p>The fields marked "guarded" are read and written with the destination's lock held; the
 * keepalive's fields with this session's own {@code keepaliveLock}, which is never held while
 * calling the destination. Session events arrive on HTTP/2 threads and go to the
 * {@link Http2Destination}.</p>
 */
final class Http2PooledSession implements Session.Listener
{
    private static final Logger LOG = LoggerFactory.getLogger(Http2PooledSession.class);

    private final Http2Destination destination;
    private final int maxStreamsPerConnection;
    private final long pingIntervalMillis;
    private final long pingTimeoutMillis;
    private final Scheduler scheduler;
    private final Object keepaliveLock = new Object();
    private volatile Session session;
    private volatile boolean ready;
    private volatile boolean gone;
    private volatile long readyNanos;
    // Guarded by the destination's lock.
    private int peerMaxStreams = Integer.MAX_VALUE;
    private int active;
    private boolean draining;
    private boolean left;
    private Scheduler.Task idleTask;
    // Guarded by keepaliveLock.
    private Scheduler.Task pingTask;
    private long pingPayload;
    private long pingSentNanos;
    private long pingsSent;

    Http2PooledSession(Http2Destination destination, Http2ConnectPool pool)
    {
        this.destination = destination;
        this.maxStreamsPerConnection = pool.getMaxStreamsPerConnection();
        this.pingIntervalMillis = pool.getPingInterval().toMillis();
        this.pingTimeoutMillis = pool.getPingTimeout().toMillis();
        this.scheduler = pool.scheduler();
    }

    Session session()
    {
        return session;
    }

    void session(Session session)
    {
        this.session = session;
    }

    boolean isReady()
    {
        return ready;
    }

    /** @return whether the session closed, failed or was removed from the pool */
    boolean isGone()
    {
        Session s = session;
        return gone || (s != null && (s.isClosed() || s instanceof HTTP2Session h2 && h2.isDisconnected()));
    }

    // ---- guarded by the destination's lock ----

    /** @return min(maxStreamsPerConnection, the peer's SETTINGS_MAX_CONCURRENT_STREAMS) */
    int maxStreams()
    {
        return Math.min(maxStreamsPerConnection, peerMaxStreams);
    }

    int active()
    {
        return active;
    }

    boolean isDraining()
    {
        return draining;
    }

    void drain()
    {
        draining = true;
    }

    void markGone()
    {
        gone = true;
        cancelIdle();
        stopKeepalive();
    }

    /**
     * Records that the session left the pool (closed, lost, drained by GOAWAY, found dead).
     *
     * @return whether this is the first time, so that a loss is counted once
     */
    boolean leave()
    {
        if (left)
            return false;
        left = true;
        return true;
    }

    /** Takes a stream slot if the session accepts new streams and has one free. */
    boolean tryReserve()
    {
        if (draining || gone || !ready || active >= maxStreams() || isGone())
            return false;
        active++;
        cancelIdle();
        return true;
    }

    /** @return the active stream count after returning a slot */
    int free()
    {
        return --active;
    }

    void idleTask(Scheduler.Task task)
    {
        cancelIdle();
        idleTask = task;
    }

    Scheduler.Task idleTask()
    {
        return idleTask;
    }

    private void cancelIdle()
    {
        Scheduler.Task task = idleTask;
        idleTask = null;
        if (task != null)
            task.cancel();
    }

    /** @return whether this was the peer's first SETTINGS, which makes the session ready */
    boolean onPeerSettings(Integer maxConcurrentStreams)
    {
        if (maxConcurrentStreams != null)
            peerMaxStreams = Math.max(0, maxConcurrentStreams);
        if (ready)
            return false;
        readyNanos = NanoTime.now();
        ready = true;
        return true;
    }

    /** @return milliseconds since the session became ready (joined the pool) */
    long readyMillis()
    {
        return ready ? NanoTime.millisSince(readyNanos) : 0;
    }

    // ---- not guarded ----

    /** Returns a stream slot (the stream closed or could not be created). */
    void release()
    {
        destination.release(this);
    }

    /**
     * Closes the connection: GOAWAY(NO_ERROR), then the socket once the GOAWAY is written. The
     * socket is closed without waiting for the peer's GOAWAY: a Jetty peer never answers while
     * it keeps closed tunnel streams registered (jetty/jetty.project#15657).
     */
    void close(String reason)
    {
        gone = true;
        stopKeepalive();
        Session s = session;
        if (s == null)
            return;
        Runnable disconnect = () ->
        {
            if (s instanceof HTTP2Session h2)
                h2.disconnect();
        };
        s.close(ErrorCode.NO_ERROR.code, reason, Callback.from(disconnect, x -> disconnect.run()));
    }

    /**
     * Aborts a dead connection: closes the socket at once, without a GOAWAY that could only
     * queue behind writes the peer no longer reads. Jetty then fails every stream of the
     * session, so that its tunnels end (reset), and reports the session closed.
     */
    void abort()
    {
        gone = true;
        stopKeepalive();
        Session s = session;
        if (s instanceof HTTP2Session h2)
            h2.disconnect();
        else if (s != null)
            s.close(ErrorCode.CANCEL_STREAM_ERROR.code, "dead", Callback.NOOP);
    }

    // ---- keepalive ----

    /** Starts the PINGs, if enabled: called once, when the session joined the pool. */
    void startKeepalive()
    {
        if (pingIntervalMillis > 0)
            scheduleNextPing();
    }

    private void scheduleNextPing()
    {
        synchronized (keepaliveLock)
        {
            if (gone)
                return;
            pingTask = scheduler.schedule(this::sendPing, pingIntervalMillis, TimeUnit.MILLISECONDS);
        }
    }

    private void sendPing()
    {
        Session s = session;
        long payload;
        synchronized (keepaliveLock)
        {
            if (gone || s == null)
                return;
            // Unique per session, never 0 (which means "none outstanding").
            payload = ++pingsSent;
            pingPayload = payload;
            pingSentNanos = NanoTime.now();
            pingTask = scheduler.schedule(() -> onPingTimeout(payload), pingTimeoutMillis, TimeUnit.MILLISECONDS);
        }
        // A failed write means the session is failing: its own events drop it from the pool.
        s.ping(new PingFrame(payload, false), Callback.from(() -> {}, x ->
        {
            if (LOG.isDebugEnabled())
                LOG.debug("PING to {} not sent", destination.endpoint(), x);
        }));
    }

    private void onPingTimeout(long payload)
    {
        synchronized (keepaliveLock)
        {
            if (gone || pingPayload != payload)
                return;
            pingPayload = 0;
            pingTask = null;
        }
        destination.onDead(this, new IOException("no PING ACK within " + pingTimeoutMillis + " ms"));
    }

    private void stopKeepalive()
    {
        synchronized (keepaliveLock)
        {
            Scheduler.Task task = pingTask;
            pingTask = null;
            pingPayload = 0;
            if (task != null)
                task.cancel();
        }
    }

    /** @return PINGs sent on this session so far */
    long pingsSent()
    {
        synchronized (keepaliveLock)
        {
            return pingsSent;
        }
    }

    // ---- Session.Listener, on HTTP/2 threads ----

    /**
     * A PING ACK (Jetty answers the peer's own PINGs and reports only ACKs here): the peer is
     * alive; the next PING goes out after the interval.
     */
    @Override
    public void onPing(Session session, PingFrame frame)
    {
        if (!frame.isReply())
            return;
        long rttNanos;
        synchronized (keepaliveLock)
        {
            if (pingPayload == 0 || frame.getPayloadAsLong() != pingPayload)
                return;
            pingPayload = 0;
            rttNanos = NanoTime.since(pingSentNanos);
            Scheduler.Task timeout = pingTask;
            pingTask = null;
            if (timeout != null)
                timeout.cancel();
        }
        if (LOG.isDebugEnabled())
            LOG.debug("PING ACK from {} after {} us", destination.endpoint(), TimeUnit.NANOSECONDS.toMicros(rttNanos));
        scheduleNextPing();
    }

    @Override
    public void onSettings(Session session, SettingsFrame frame)
    {
        if (frame.isReply())
            return;
        this.session = session;
        Map<Integer, Integer> settings = frame.getSettings();
        destination.onSettings(this, settings.get(SettingsFrame.MAX_CONCURRENT_STREAMS));
    }

    @Override
    public void onGoAway(Session session, GoAwayFrame frame)
    {
        destination.onGoAway(this, frame);
    }

    @Override
    public void onClose(Session session, GoAwayFrame frame, Callback callback)
    {
        // The GOAWAY received, or sent (by Jetty too: "stop" when the socket closed under it).
        String reason = frame == null ? "closed" : "closed, GOAWAY " + ErrorCode.toString(frame.getError(), "error " + frame.getError()) + " " + frame.tryConvertPayload();
        destination.onGone(this, new ClosedChannelException(), reason);
        callback.succeeded();
    }

    @Override
    public void onFailure(Session session, Throwable failure, Callback callback)
    {
        destination.onGone(this, failure, String.valueOf(failure));
        callback.succeeded();
    }

    @Override
    public boolean onIdleTimeout(Session session)
    {
        // The pool decides when a connection is idle (no stream for its idle timeout); the
        // connector's idle timeout must not close a connection whose tunnels are quiet.
        destination.onConnectorIdleTimeout(this);
        return false;
    }

    @Override
    public String toString()
    {
        Session s = session;
        // Jetty's own count of the session's streams, for dumps: it should track the slots in use.
        return "Http2PooledSession[%s,ready=%b,gone=%b,%s,jettyStreams=%d,pings=%d]".formatted(destination.endpoint(), ready, gone,
            s == null ? "-" : s.getRemoteSocketAddress(), s == null ? 0 : s.getStreams().size(), pingsSent());
    }
}
