package dev.adit.upstream;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.adit.config.HostPort;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.util.component.Dumpable;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pooled connections to one upstream endpoint, and the requests waiting for a stream slot.
 *
 * <p>Rules: a request takes a free slot on the first ready connection that has one (packing
 * tunnels onto few connections); when none has, it waits in a bounded queue and one connection
 * attempt starts, unless one is already running (at most one at a time per endpoint). When a
 * connection becomes ready, or a slot frees up, waiting requests take the free slots in
 * arrival order; if some still wait, the next attempt starts. A failed attempt fails every
 * waiting request; the next request starts a new attempt.</p>
 *
 * <p>Locking: one lock guards the lists, the queue and the slot counts of the pooled sessions.
 * It is never held across a connect, a TLS handshake, a frame write or a promise completion:
 * each method decides under the lock and acts after releasing it.</p>
 */
final class Http2Destination implements Dumpable
{
    private static final Logger LOG = LoggerFactory.getLogger(Http2Destination.class);

    private final Object lock = new Object();
    private final Http2ConnectPool pool;
    private final HostPort endpoint;
    // Guarded by lock.
    private final List<Http2PooledSession> sessions = new ArrayList<>();
    private final Deque<Http2ConnectExchange> queue = new ArrayDeque<>();
    private Http2ConnectAttempt attempt;
    private long attempts;
    private int peak;
    private boolean closed;

    Http2Destination(Http2ConnectPool pool, HostPort endpoint)
    {
        this.pool = pool;
        this.endpoint = endpoint;
    }

    HostPort endpoint()
    {
        return endpoint;
    }

    /** Sends the request on a free slot, or queues it and makes sure a connection is coming. */
    void acquire(Http2ConnectExchange exchange)
    {
        Http2PooledSession slot = null;
        Http2ConnectAttempt connect = null;
        TunnelException rejection = null;
        synchronized (lock)
        {
            if (closed)
            {
                rejection = new TunnelException(TunnelFailure.UNAVAILABLE, "the HTTP/2 pool to " + endpoint + " is stopped");
            }
            else
            {
                slot = reserve();
                if (slot == null)
                {
                    if (queue.size() >= pool.getMaxQueuedPerEndpoint())
                    {
                        rejection = new TunnelException(TunnelFailure.UNAVAILABLE, queue.size() + " CONNECTs already wait for a connection to " + endpoint);
                    }
                    else
                    {
                        queue.add(exchange);
                        connect = newAttempt();
                    }
                }
            }
        }
        if (rejection != null)
            exchange.fail(rejection);
        else if (slot != null)
            exchange.send(slot);
        if (connect != null)
            connect.start();
    }

    /** Under the lock: a slot on the first session with one free, dropping dead sessions. */
    private Http2PooledSession reserve()
    {
        for (var iterator = sessions.iterator(); iterator.hasNext(); )
        {
            Http2PooledSession session = iterator.next();
            if (session.isGone())
            {
                iterator.remove();
                session.markGone();
                continue;
            }
            if (reserve(session))
                return session;
        }
        return null;
    }

    /** Under the lock: takes a slot on {@code session} if it has one free. */
    private boolean reserve(Http2PooledSession session)
    {
        if (!session.tryReserve())
            return false;
        peak = Math.max(peak, session.active());
        return true;
    }

    /** Under the lock: a new attempt if requests wait and none is running. */
    private Http2ConnectAttempt newAttempt()
    {
        if (attempt != null || queue.isEmpty() || closed)
            return null;
        attempts++;
        attempt = new Http2ConnectAttempt(pool, this, new Http2PooledSession(this, pool.getMaxStreamsPerConnection()));
        return attempt;
    }

    /** Under the lock: hands free slots to waiting requests, in order. */
    private List<Dispatch> dispatchWaiting()
    {
        List<Dispatch> dispatches = new ArrayList<>();
        while (!queue.isEmpty())
        {
            Http2ConnectExchange next = queue.peek();
            if (next.isDone())
            {
                queue.poll();
                continue;
            }
            Http2PooledSession slot = reserve();
            if (slot == null)
                break;
            dispatches.add(new Dispatch(queue.poll(), slot));
        }
        return dispatches;
    }

    private record Dispatch(Http2ConnectExchange exchange, Http2PooledSession session)
    {
    }

    private static void run(List<Dispatch> dispatches)
    {
        for (Dispatch dispatch : dispatches)
            dispatch.exchange().send(dispatch.session());
    }

    /**
     * A SETTINGS frame from the peer. The first one completes the connection attempt: the
     * session joins the pool and waiting requests take its slots. A later one may raise the
     * peer's limit, so waiting requests are looked at again.
     */
    void onSettings(Http2PooledSession session, Integer maxConcurrentStreams)
    {
        List<Dispatch> dispatches = List.of();
        List<Http2ConnectExchange> refused = List.of();
        Http2ConnectAttempt connect = null;
        boolean close = false;
        synchronized (lock)
        {
            boolean first = session.onPeerSettings(maxConcurrentStreams);
            if (!first)
            {
                dispatches = dispatchWaiting();
            }
            else if (attempt != null && attempt.pooled() == session && attempt.succeed())
            {
                attempt = null;
                if (closed)
                {
                    close = true;
                }
                else if (session.maxStreams() == 0)
                {
                    close = true;
                    refused = new ArrayList<>(queue);
                    queue.clear();
                }
                else
                {
                    sessions.add(session);
                    dispatches = dispatchWaiting();
                    connect = newAttempt();
                    if (session.active() == 0)
                        scheduleIdle(session);
                }
            }
        }
        if (LOG.isDebugEnabled())
            LOG.debug("SETTINGS from {}: {} (max {} streams), {} waiting requests sent", endpoint, session, maxConcurrentStreams, dispatches.size());
        if (close)
            session.close("not_used");
        TunnelException noStreams = new TunnelException(TunnelFailure.UNAVAILABLE, "upstream " + endpoint + " allows no concurrent streams");
        refused.forEach(exchange -> exchange.fail(noStreams));
        run(dispatches);
        if (connect != null)
            connect.start();
    }

    /** The attempt failed: every waiting request fails with its classified reason. */
    void onConnectFailed(Http2PooledSession session, TunnelException failure)
    {
        List<Http2ConnectExchange> failed;
        synchronized (lock)
        {
            if (attempt != null && attempt.pooled() == session)
                attempt = null;
            failed = new ArrayList<>(queue);
            queue.clear();
        }
        if (LOG.isDebugEnabled())
            LOG.debug("connection to {} failed, failing {} waiting CONNECTs", endpoint, failed.size(), failure);
        for (Http2ConnectExchange exchange : failed)
            exchange.fail(failure);
    }

    /** A stream closed (or was never created): its slot goes to the next waiting request, if any. */
    void release(Http2PooledSession session)
    {
        Http2ConnectExchange next = null;
        synchronized (lock)
        {
            session.free();
            while (!queue.isEmpty() && queue.peek().isDone())
                queue.poll();
            if (!queue.isEmpty() && reserve(session))
                next = queue.poll();
            else if (session.active() == 0 && !session.isDraining() && !session.isGone() && !closed)
                scheduleIdle(session);
        }
        if (next != null)
            next.send(session);
    }

    /** Under the lock: closes the session if it still has no stream after the idle timeout. */
    private void scheduleIdle(Http2PooledSession session)
    {
        long millis = pool.getIdleTimeout().toMillis();
        if (millis <= 0)
            return;
        Scheduler.Task[] task = new Scheduler.Task[1];
        task[0] = pool.scheduler().schedule(() -> onIdleExpired(session, task[0]), millis, TimeUnit.MILLISECONDS);
        session.idleTask(task[0]);
    }

    private void onIdleExpired(Http2PooledSession session, Scheduler.Task task)
    {
        boolean close = false;
        synchronized (lock)
        {
            // The task may have been replaced or cancelled after it fired.
            if (session.idleTask() == task && session.active() == 0)
            {
                sessions.remove(session);
                session.markGone();
                close = true;
            }
        }
        if (close)
        {
            if (LOG.isDebugEnabled())
                LOG.debug("closing idle connection {}", session);
            session.close("idle_timeout");
        }
    }

    /** Jetty's connector idle timeout fired; a session without streams is closed now. */
    void onConnectorIdleTimeout(Http2PooledSession session)
    {
        boolean close = false;
        synchronized (lock)
        {
            if (session.isReady() && session.active() == 0 && sessions.remove(session))
            {
                session.markGone();
                close = true;
            }
        }
        if (close)
            session.close("idle_timeout");
    }

    /** GOAWAY received: no new streams on this connection; its tunnels run until they end. */
    void onGoAway(Http2PooledSession session, GoAwayFrame frame)
    {
        Http2ConnectAttempt failed = null;
        Http2ConnectAttempt connect;
        synchronized (lock)
        {
            session.drain();
            sessions.remove(session);
            if (attempt != null && attempt.pooled() == session)
                failed = attempt;
            connect = newAttempt();
        }
        if (LOG.isDebugEnabled())
            LOG.debug("GOAWAY from {}: {}", endpoint, frame);
        if (failed != null)
            failed.fail(new IOException("upstream sent GOAWAY " + frame + " before SETTINGS"));
        if (connect != null)
            connect.start();
    }

    /** The session closed or failed: it is dropped, its tunnels end through their streams. */
    void onGone(Http2PooledSession session, Throwable cause)
    {
        Http2ConnectAttempt failed = null;
        Http2ConnectAttempt connect;
        synchronized (lock)
        {
            sessions.remove(session);
            session.markGone();
            if (attempt != null && attempt.pooled() == session)
                failed = attempt;
            connect = newAttempt();
        }
        if (LOG.isDebugEnabled())
            LOG.debug("connection {} to {} gone", session, endpoint, cause);
        if (failed != null)
            failed.fail(cause);
        if (connect != null)
            connect.start();
    }

    /** Stops: fails waiting requests with UNAVAILABLE and closes every connection. */
    void close()
    {
        List<Http2ConnectExchange> failed;
        List<Http2PooledSession> toClose;
        Http2ConnectAttempt running;
        synchronized (lock)
        {
            closed = true;
            failed = new ArrayList<>(queue);
            queue.clear();
            toClose = new ArrayList<>(sessions);
            sessions.clear();
            toClose.forEach(Http2PooledSession::markGone);
            running = attempt;
            attempt = null;
        }
        TunnelException stopped = new TunnelException(TunnelFailure.UNAVAILABLE, "the HTTP/2 pool to " + endpoint + " stopped");
        if (running != null)
            running.fail(stopped);
        failed.forEach(exchange -> exchange.fail(stopped));
        toClose.forEach(session -> session.close("pool_stopped"));
    }

    // ---- observation ----

    int connectionCount()
    {
        synchronized (lock)
        {
            return (int)sessions.stream().filter(s -> !s.isGone()).count();
        }
    }

    int streamCount()
    {
        synchronized (lock)
        {
            return sessions.stream().mapToInt(Http2PooledSession::active).sum();
        }
    }

    int peakStreamsPerConnection()
    {
        synchronized (lock)
        {
            return peak;
        }
    }

    int queued()
    {
        synchronized (lock)
        {
            return queue.size();
        }
    }

    long connectAttempts()
    {
        synchronized (lock)
        {
            return attempts;
        }
    }

    @Override
    public void dump(Appendable out, String indent) throws IOException
    {
        List<Http2PooledSession> snapshot;
        synchronized (lock)
        {
            snapshot = new ArrayList<>(sessions);
        }
        Dumpable.dumpObjects(out, indent, this, snapshot.toArray());
    }

    @Override
    public String toString()
    {
        synchronized (lock)
        {
            return "Http2Destination[%s,connections=%d,streams=%d,queued=%d,connecting=%b]".formatted(endpoint, sessions.size(),
                sessions.stream().mapToInt(Http2PooledSession::active).sum(), queue.size(), attempt != null);
        }
    }
}
