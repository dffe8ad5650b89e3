package dev.adit.upstream;

import java.nio.channels.ClosedChannelException;
import java.util.Map;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * One pooled HTTP/2 connection to an upstream endpoint, and the {@link Session.Listener} of its
 * session. It counts its active streams itself: Jetty fails a new stream beyond the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS instead of queueing it.
 *
 * <p>The fields marked "guarded" are read and written with the destination's lock held; the
 * session events arrive on HTTP/2 threads and go to the {@link Http2Destination}.</p>
 */
final class Http2PooledSession implements Session.Listener
{
    private final Http2Destination destination;
    private final int maxStreamsPerConnection;
    private volatile Session session;
    private volatile boolean ready;
    private volatile boolean gone;
    // Guarded by the destination's lock.
    private int peerMaxStreams = Integer.MAX_VALUE;
    private int active;
    private boolean draining;
    private Scheduler.Task idleTask;

    Http2PooledSession(Http2Destination destination, int maxStreamsPerConnection)
    {
        this.destination = destination;
        this.maxStreamsPerConnection = maxStreamsPerConnection;
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
        ready = true;
        return true;
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

    // ---- Session.Listener, on HTTP/2 threads ----

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
        destination.onGone(this, new ClosedChannelException());
        callback.succeeded();
    }

    @Override
    public void onFailure(Session session, Throwable failure, Callback callback)
    {
        destination.onGone(this, failure);
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
        return "Http2PooledSession[%s,ready=%b,gone=%b,%s,jettyStreams=%d]".formatted(destination.endpoint(), ready, gone,
            s == null ? "-" : s.getRemoteSocketAddress(), s == null ? 0 : s.getStreams().size());
    }
}
