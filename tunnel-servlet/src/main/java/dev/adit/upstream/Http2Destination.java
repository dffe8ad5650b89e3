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
 * <p>Minimum ({@link #keepWarm}): while fewer than {@code minimum} connections are pooled,
 * attempts are made without waiting for a request, one at a time, and the idle timeout closes
 * no connection that would take the count below it. A connection lost (closed, failed, drained
 * by GOAWAY, found dead by the keepalive) is replaced at once; after a failed attempt, or the
 * loss of a connection younger than {@link #STABLE_MILLIS}, the next attempt waits a backoff of
 * {@link #INITIAL_BACKOFF_MILLIS} doubling to {@link #MAX_BACKOFF_MILLIS}, so that a dead or
 * flapping endpoint is not hammered. Requests do not wait for the backoff: a queued request
 * starts an attempt at once, as without a minimum.</p>
 *
 * <p>Locking: one lock guards the lists, the queue and the slot counts of the pooled sessions.
 * It is never held across a connect, a TLS handshake, a frame write or a promise completion:
 * each method decides under the lock and acts after releasing it.</p>
 */
final class Http2Destination implements Dumpable
{
    /** The first delay before reconnecting to keep the minimum, after a failure. */
    static final long INITIAL_BACKOFF_MILLIS = 100;
    /** The longest delay before reconnecting to keep the minimum. */
    static final long MAX_BACKOFF_MILLIS = 10_000;
    /** A connection lost younger than this counts as a failure for the backoff (a flapping endpoint). */
    static final long STABLE_MILLIS = MAX_BACKOFF_MILLIS;
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
    private int minimum;
    private int failures;
    private boolean warned;
    private Scheduler.Task retry;

    Http2Destination(Http2ConnectPool pool, HostPort endpoint)
    {
        this.pool = pool;
        this.endpoint = endpoint;
    }

    HostPort endpoint()
    {
        return endpoint;
    }

    /** Keeps at least {@code minimum} connections open from now on, opening the missing ones. */
    void keepWarm(int minimum)
    {
        Http2ConnectAttempt connect;
        synchronized (lock)
        {
            this.minimum = minimum;
            connect = newAttempt();
        }
        if (connect != null)
            connect.start();
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
                leave(session, true);
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

    /**
     * Under the lock: a new attempt if none is running and requests wait, or the pool is below
     * its minimum and not backing off.
     */
    private Http2ConnectAttempt newAttempt()
    {
        if (attempt != null || closed)
            return null;
        if (queue.isEmpty() && (retry != null || pooled() >= minimum))
            return null;
        attempts++;
        attempt = new Http2ConnectAttempt(pool, this, new Http2PooledSession(this, pool));
        return attempt;
    }

    /** Under the lock: the connections in the pool (ready, not draining, not gone). */
    private int pooled()
    {
        int count = 0;
        for (Http2PooledSession session : sessions)
        {
            if (!session.isGone())
                count++;
        }
        return count;
    }

    /**
     * Under the lock: {@code session} leaves the pool. The first time, the loss of a ready
     * session counts for the backoff: a failure if it was young, the end of any run of failures
     * if it was stable.
     *
     * @return whether the session was a pooled one lost for the first time
     */
    private boolean leave(Http2PooledSession session, boolean loss)
    {
        sessions.remove(session);
        if (!session.leave() || !loss || !session.isReady())
            return false;
        if (session.readyMillis() >= STABLE_MILLIS)
            failures = 0;
        else
            fail();
        return true;
    }

    /**
     * Under the lock: one more failure in a row. A success alone does not end the run (the
     * new connection may be lost young again); a connection that stays for
     * {@link #STABLE_MILLIS} does.
     *
     * @return the failures in a row
     */
    private int fail()
    {
        for (Http2PooledSession session : sessions)
        {
            if (!session.isGone() && session.readyMillis() >= STABLE_MILLIS)
            {
                failures = 0;
                break;
            }
        }
        return ++failures;
    }

    /**
     * Under the lock: after failures, schedules the next attempt to keep the minimum, unless
     * one is running or scheduled, or the minimum is kept.
     */
    private void scheduleRetry()
    {
        if (closed || attempt != null || retry != null || failures == 0 || pooled() >= minimum)
            return;
        long delay = backoffMillis();
        retry = pool.scheduler().schedule(this::onRetry, delay, TimeUnit.MILLISECONDS);
    }

    /** Under the lock: the backoff after {@code failures} consecutive failures. */
    private long backoffMillis()
    {
        int doublings = Math.min(Math.max(failures - 1, 0), 20);
        return Math.min(MAX_BACKOFF_MILLIS, INITIAL_BACKOFF_MILLIS << doublings);
    }

    private void onRetry()
    {
        Http2ConnectAttempt connect;
        synchronized (lock)
        {
            retry = null;
            connect = newAttempt();
        }
        if (connect != null)
            connect.start();
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
        boolean joined = false;
        int recovered = 0;
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
                    fail();
                    scheduleRetry();
                }
                else
                {
                    sessions.add(session);
                    joined = true;
                    if (warned)
                        recovered = failures;
                    warned = false;
                    dispatches = dispatchWaiting();
                    connect = newAttempt();
                    if (session.active() == 0)
                        scheduleIdle(session);
                }
            }
        }
        if (LOG.isDebugEnabled())
            LOG.debug("SETTINGS from {}: {} (max {} streams), {} waiting requests sent", endpoint, session, maxConcurrentStreams, dispatches.size());
        if (recovered > 0)
            LOG.info("connected to {} again, after {} failures in a row", endpoint, recovered);
        if (joined)
            session.startKeepalive();
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
        int failedCount;
        int keep;
        long backoff = -1;
        boolean warn = false;
        synchronized (lock)
        {
            keep = minimum;
            if (attempt != null && attempt.pooled() == session)
                attempt = null;
            failed = new ArrayList<>(queue);
            queue.clear();
            failedCount = fail();
            scheduleRetry();
            if (retry != null)
            {
                backoff = backoffMillis();
                // Once per run of failures; the recovery is logged too.
                warn = !warned;
                warned = true;
            }
        }
        if (warn)
            LOG.warn("cannot keep {} connections open to {}: {}; retrying in {} ms, then backing off up to {} ms", keep, endpoint,
                failure.getMessage(), backoff, MAX_BACKOFF_MILLIS);
        else if (LOG.isDebugEnabled())
            LOG.debug("connection to {} failed ({} in a row, retry in {} ms), failing {} waiting CONNECTs", endpoint, failedCount, backoff,
                failed.size(), failure);
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
                if (pooled() > minimum)
                {
                    leave(session, false);
                    session.markGone();
                    close = true;
                }
                else if (!closed && !session.isGone())
                {
                    // Kept for the minimum; looked at again later, when there may be more.
                    scheduleIdle(session);
                }
            }
        }
        if (close)
        {
            if (LOG.isDebugEnabled())
                LOG.debug("closing idle connection {}", session);
            session.close("idle_timeout");
        }
    }

    /**
     * Jetty's connector idle timeout fired; a session without streams is closed now, unless
     * the pool needs it for its minimum.
     */
    void onConnectorIdleTimeout(Http2PooledSession session)
    {
        boolean close = false;
        synchronized (lock)
        {
            if (session.isReady() && session.active() == 0 && sessions.contains(session) && pooled() > minimum)
            {
                leave(session, false);
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
            leave(session, true);
            scheduleRetry();
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

    /**
     * The session closed or failed: it is dropped, its tunnels end through their streams. If
     * the pool falls below its minimum, a replacement is made at once, or after the backoff if
     * connections keep being lost young.
     *
     * @param reason what happened, for the log
     */
    void onGone(Http2PooledSession session, Throwable cause, String reason)
    {
        Http2ConnectAttempt failed = null;
        Http2ConnectAttempt connect;
        boolean lost;
        int keep;
        synchronized (lock)
        {
            lost = leave(session, true);
            session.markGone();
            scheduleRetry();
            if (attempt != null && attempt.pooled() == session)
                failed = attempt;
            connect = newAttempt();
            keep = minimum;
        }
        // Its tunnels report their own ends; a replaced connection is worth a line.
        if (lost && keep > 0)
            LOG.info("connection to {} lost ({}); replacing it to keep {} open", endpoint, reason, keep);
        else if (LOG.isDebugEnabled())
            LOG.debug("connection {} to {} gone", session, endpoint, cause);
        if (failed != null)
            failed.fail(cause);
        if (connect != null)
            connect.start();
    }

    /**
     * The keepalive found {@code session} dead (no PING ACK in time): it leaves the pool and is
     * aborted, which ends its tunnels; a replacement is made if the pool falls below its minimum.
     */
    void onDead(Http2PooledSession session, Throwable cause)
    {
        Http2ConnectAttempt connect;
        int tunnels;
        synchronized (lock)
        {
            leave(session, true);
            session.markGone();
            scheduleRetry();
            connect = newAttempt();
            tunnels = session.active();
        }
        LOG.warn("connection to {} is dead: {}; aborting it and its {} tunnels", endpoint, cause.getMessage(), tunnels);
        session.abort();
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
            if (retry != null)
                retry.cancel();
            retry = null;
            failed = new ArrayList<>(queue);
            queue.clear();
            toClose = new ArrayList<>(sessions);
            toClose.forEach(session -> leave(session, false));
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
            return "Http2Destination[%s,connections=%d,min=%d,streams=%d,queued=%d,connecting=%b,failures=%d]".formatted(endpoint, sessions.size(),
                minimum, sessions.stream().mapToInt(Http2PooledSession::active).sum(), queue.size(), attempt != null, failures);
        }
    }
}
