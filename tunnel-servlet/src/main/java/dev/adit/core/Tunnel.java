package dev.adit.core;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import dev.adit.config.TunnelConfig;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tunnel: two endpoints joined by two {@link Pipe}s, one per direction.
 *
 * <p>Life cycle: the creator makes the upstream and downstream {@link Connection}s with
 * {@link #newUpstreamConnection} and {@link #newDownstreamConnection} and lets Jetty open them
 * (the client connector opens the upstream one, the response upgrade the downstream one). When
 * both are open the tunnel starts: timeouts are armed, {@link TunnelListener#onOpened} fires and
 * both pipes run. It ends exactly once, either cleanly when both directions have seen end of
 * input (half-close is per direction), or abortively on a reset, a failure, the idle timeout or
 * the maximum duration; then {@link TunnelListener#onClosed} fires. A failure on one side is
 * propagated to the other as a reset ({@link EndPointAborter}).</p>
 *
 * <p>A tunnel that will never start is released with {@link #refuse}, which reports it once
 * with {@link TunnelListener#onRefused} (the client was answered non-2xx, or went away), so
 * that every tunnel request reaches the access log; a side that closes before the start does
 * the same. {@link #dispose} releases it without any event, for tunnels no one accounts for.
 * Until a side has opened, its endpoint is not the tunnel's: releasing leaves it to whoever is
 * opening it, and should it open afterwards it is aborted at once.</p>
 *
 * <p>Ending always reports: the event fires even when closing a side throws (which is logged),
 * so that no failure of an endpoint can take a tunnel out of the access log.</p>
 *
 * <p>What the creator learns on the way is set on the tunnel for listeners and logs: the
 * cluster ({@link #setUpstreamCluster}), the status answered ({@link #setResponseCode}), the
 * client's addresses when no downstream connection will carry them
 * ({@link #setDownstreamAddresses}). Addresses are kept when the connections are made, so
 * that they can still be reported once the sockets are closed.</p>
 *
 * <p>Thread safety: all methods may be called from any thread; state changes are atomic.</p>
 */
public final class Tunnel implements TunnelInfo
{
    private static final Logger LOG = LoggerFactory.getLogger(Tunnel.class);
    private static final AtomicLong IDS = new AtomicLong();

    /**
     * NEW until both sides opened; STARTING while {@link #start} sets the pipes up and reports
     * the opening, an abort meanwhile being deferred to its end ({@link #pendingAbort}), so
     * that onClosed never comes before onOpened nor meets half-made pipes; then OPEN; CLOSED
     * once ended, whichever way.
     */
    private enum State
    {
        NEW, STARTING, OPEN, CLOSED
    }

    /** Why and how to abort, when that has to wait for the start to finish. */
    private record Abort(TunnelFailure outcome, Throwable cause, TunnelConnection culprit)
    {
    }

    // A tunnel is held for as long as it lasts, thousands at a time: its state is in volatile
    // fields updated through these handles rather than in atomic objects of its own, and its
    // id and start time are kept as numbers until someone asks for them.
    private static final VarHandle STATE;
    private static final VarHandle PENDING_ABORT;
    private static final VarHandle OPENED_CONNECTIONS;
    private static final VarHandle COMPLETED_PIPES;

    static
    {
        try
        {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(Tunnel.class, "state", State.class);
            PENDING_ABORT = lookup.findVarHandle(Tunnel.class, "pendingAbort", Abort.class);
            OPENED_CONNECTIONS = lookup.findVarHandle(Tunnel.class, "openedConnections", int.class);
            COMPLETED_PIPES = lookup.findVarHandle(Tunnel.class, "completedPipes", int.class);
        }
        catch (ReflectiveOperationException x)
        {
            throw new ExceptionInInitializerError(x);
        }
    }

    private final long serial = IDS.incrementAndGet();
    private final long startEpochNanos = epochNanos(Instant.now());
    private volatile State state = State.NEW;
    private volatile Abort pendingAbort;
    private volatile int openedConnections;
    private volatile int completedPipes;
    private final String authority;
    private final String protocol;
    private final TunnelConfig config;
    private final ByteBufferPool pool;
    private final Scheduler scheduler;
    private final TunnelListener listener;
    private volatile TunnelConnection downstream;
    private volatile TunnelConnection upstream;
    private volatile Pipe toUpstream;
    private volatile Pipe toDownstream;
    private volatile Scheduler.Task maxDurationTask;
    private volatile SocketAddress downstreamRemoteAddress;
    private volatile SocketAddress downstreamLocalAddress;
    private volatile SocketAddress upstreamAddress;
    private volatile String upstreamCluster;
    private volatile int responseCode;

    public Tunnel(String authority, String protocol, TunnelConfig config, ByteBufferPool pool, Scheduler scheduler, TunnelListener listener)
    {
        this.authority = Objects.requireNonNull(authority);
        this.protocol = Objects.requireNonNull(protocol);
        this.config = Objects.requireNonNull(config);
        this.pool = Objects.requireNonNull(pool);
        this.scheduler = Objects.requireNonNull(scheduler);
        this.listener = Objects.requireNonNull(listener);
    }

    /**
     * @param endPoint the client's side: a socket for HTTP/1.1, a stream for HTTP/2
     * @param aborter  how to reset that side when the tunnel fails
     * @return the connection to install on the endpoint (Jetty's upgrade attribute)
     */
    public Connection newDownstreamConnection(EndPoint endPoint, Executor executor, EndPointAborter aborter)
    {
        if (downstream != null)
            throw new IllegalStateException("downstream already set on " + this);
        downstream = new TunnelConnection(this, TunnelConnection.Side.DOWNSTREAM, endPoint, executor, aborter);
        if (downstreamRemoteAddress == null)
            setDownstreamAddresses(endPoint.getRemoteSocketAddress(), endPoint.getLocalSocketAddress());
        return downstream;
    }

    /**
     * @param endPoint the target's side, a connected socket
     * @return the connection to install on it; it waits for the tunnel to start before reading
     */
    public Connection newUpstreamConnection(EndPoint endPoint, Executor executor, EndPointAborter aborter)
    {
        if (upstream != null)
            throw new IllegalStateException("upstream already set on " + this);
        upstream = new TunnelConnection(this, TunnelConnection.Side.UPSTREAM, endPoint, executor, aborter);
        upstreamAddress = endPoint.getRemoteSocketAddress();
        return upstream;
    }

    /** Called by the connection once it is marked opened (which {@link #release} reads after ending). */
    void onConnectionOpened(TunnelConnection connection)
    {
        // A side that opens after the tunnel was released (the client left while the upstream
        // was still answering) would otherwise stay connected until its idle timeout.
        if (state == State.CLOSED)
        {
            IOException late = new IOException("tunnel " + id() + " was released before its " + connection.side() + " side opened");
            quietly("abort the late " + connection.side() + " side", () -> connection.aborter().abort(connection.getEndPoint(), late));
            return;
        }
        if ((int)OPENED_CONNECTIONS.getAndAdd(this, 1) == 1)
            start();
    }

    private void start()
    {
        if (!STATE.compareAndSet(this, State.NEW, State.STARTING))
            return;
        int bufferSize = config.bufferSize().toIntBytes();
        toUpstream = new Pipe(downstream, upstream, pool, bufferSize);
        toDownstream = new Pipe(upstream, downstream, pool, bufferSize);
        // The tunnel's idle timeout replaces the connector's (HTTP/1.1) or the stream's (HTTP/2),
        // on both sides. The target's side keeps its own as a guard: a review feared that the
        // client's side could lose its timer while a write to the target is pending (an HTTP/2
        // stream or POST tunnel completed on the fill that reads the client's last bytes, an
        // HTTP/1.1 POST upstream finishing its last chunk). The stalled-target tests
        // (TunnelLifecycleTest, PostTunnelTest, Http1PostConnectionTest) did not reproduce
        // that even with this timer off; it costs about 150 bytes a tunnel.
        long idleMillis = config.idleTimeout().toMillis();
        downstream.getEndPoint().setIdleTimeout(idleMillis);
        upstream.getEndPoint().setIdleTimeout(idleMillis);
        Duration max = config.maxDuration();
        if (!max.isZero())
            maxDurationTask = scheduler.schedule(this::onMaxDuration, max.toMillis(), TimeUnit.MILLISECONDS);
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} opened {} -> {} ({})", id(), downstreamRemoteAddress(), upstreamAddress(), authority);
        notifyOpened();
        // Only this method leaves STARTING: an abort meanwhile is pending, not carried out.
        state = State.OPEN;
        Abort abort = pendingAbort;
        if (abort != null)
        {
            abort(abort.outcome(), abort.cause(), abort.culprit());
            return;
        }
        toUpstream.iterate();
        toDownstream.iterate();
    }

    void onPipeCompleted(Pipe pipe)
    {
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} {} finished after {} bytes", id(), pipe.source().side(), pipe.bytes());
        if ((int)COMPLETED_PIPES.getAndAdd(this, 1) == 1 && STATE.compareAndSet(this, State.OPEN, State.CLOSED))
        {
            cancelMaxDuration();
            quietly("close the downstream side", () -> downstream.getEndPoint().close());
            quietly("close the upstream side", () -> upstream.getEndPoint().close());
            notifyClosed(TunnelFailure.COMPLETED, null);
        }
    }

    void onPipeFailed(Pipe pipe, Throwable cause)
    {
        TunnelConnection culprit = pipe.culprit();
        TunnelFailure outcome = cause instanceof TimeoutException ? TunnelFailure.IDLE_TIMEOUT : resetOf(culprit);
        abort(outcome, cause, outcome == TunnelFailure.IDLE_TIMEOUT ? null : culprit);
    }

    void onIdleTimeout(TunnelConnection connection, TimeoutException timeout)
    {
        abort(TunnelFailure.IDLE_TIMEOUT, timeout, null);
    }

    void onConnectionClosed(TunnelConnection connection, Throwable cause)
    {
        // Closed underneath us (server stop, HTTP/2 session gone), or by our own close/abort,
        // or by Jetty after both directions of this side ended (then the pipes finish normally).
        if (cause == null && connection.isOutputShutdown())
            return;
        // Before the start this side's close ends the tunnel; from the start on it aborts it.
        // Retried when the start wins the race, so that the close is never lost.
        while (state == State.NEW)
        {
            if (end(resetOf(connection), cause))
                return;
        }
        abort(resetOf(connection), cause, connection);
    }

    private void onMaxDuration()
    {
        abort(TunnelFailure.MAX_DURATION, new TimeoutException("maximum duration " + config.maxDuration() + " reached"), null);
    }

    private static TunnelFailure resetOf(TunnelConnection connection)
    {
        return connection.side() == TunnelConnection.Side.DOWNSTREAM ? TunnelFailure.DOWNSTREAM_RESET : TunnelFailure.UPSTREAM_RESET;
    }

    /**
     * Ends an open tunnel abortively, resetting both sides (timeouts, shutdown). Internally a
     * failure on one side closes that side (it is already broken) and resets the other, so that
     * its peer does not mistake the failure for a clean end.
     */
    public void abort(TunnelFailure outcome, Throwable cause)
    {
        abort(outcome, cause, null);
    }

    private void abort(TunnelFailure outcome, Throwable cause, TunnelConnection culprit)
    {
        while (true)
        {
            State current = state;
            if (current == State.STARTING)
            {
                // The start finishes first (pipes, onOpened), then aborts with the first reason.
                PENDING_ABORT.compareAndSet(this, null, new Abort(outcome, cause, culprit));
                if (state == State.STARTING)
                    return;
                continue;
            }
            if (current != State.OPEN)
                return;
            if (STATE.compareAndSet(this, State.OPEN, State.CLOSED))
                break;
        }
        Abort first = pendingAbort;
        if (first != null)
        {
            outcome = first.outcome();
            cause = first.cause();
            culprit = first.culprit();
        }
        cancelMaxDuration();
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} aborted: {}", id(), outcome.code(), cause);
        Throwable why = cause;
        for (TunnelConnection side : new TunnelConnection[]{downstream, upstream})
        {
            if (side == culprit)
                quietly("close the " + side.side() + " side", () -> side.getEndPoint().close(why));
            else
                quietly("abort the " + side.side() + " side", () -> side.aborter().abort(side.getEndPoint(), why));
        }
        quietly("abort the pipes", () ->
        {
            toUpstream.abort(why);
            toDownstream.abort(why);
        });
        notifyClosed(outcome, cause);
    }

    /**
     * Releases a tunnel that will never start and reports it once with
     * {@link TunnelListener#onRefused}: the client was answered with a non-2xx status (the
     * route, the policy or the upstream refused it, the connect failed), or it went away before
     * the tunnel opened. Resets the target's side and closes the client's, each if it has
     * opened (a side that opens later is aborted then). Does nothing once the tunnel started
     * or ended (so the first report wins).
     *
     * @param failure why, as the listeners and the access log report it
     * @param status  the status answered ({@link #responseCode()}), or 0 when none reached the client
     * @return whether this call ended the tunnel
     */
    public boolean refuse(TunnelFailure failure, int status, Throwable cause)
    {
        if (!release(cause))
            return false;
        responseCode = status;
        notifyRefused(Objects.requireNonNull(failure), cause);
        return true;
    }

    /**
     * A side closed before the start: reported as refused, with whatever status was answered.
     *
     * @return whether this call ended the tunnel
     */
    private boolean end(TunnelFailure failure, Throwable cause)
    {
        if (!release(cause))
            return false;
        notifyRefused(failure, cause);
        return true;
    }

    /**
     * Releases a tunnel that never started, like {@link #refuse} but without any listener
     * event: for tunnels that no one accounts for (tests, or a creator that reports the
     * failure itself).
     */
    public void dispose(Throwable cause)
    {
        release(cause);
    }

    private boolean release(Throwable cause)
    {
        if (!STATE.compareAndSet(this, State.NEW, State.CLOSED))
            return false;
        if (LOG.isDebugEnabled())
            LOG.debug("tunnel {} released before start", id(), cause);
        // Only the sides that opened are the tunnel's to end. One that has not is still its
        // opener's: Jetty owns an HTTP/2 stream until it upgrades it (closing it now would put
        // END_STREAM before the response, and Jetty 12.1.12's HTTP2StreamEndPoint.close throws
        // a NullPointerException without a connection); it fails or resets what it does not
        // upgrade, and what it does is aborted by onConnectionOpened. The opened flag is set
        // before that method reads the state, so every side is ended by one of the two.
        TunnelConnection up = upstream;
        if (up != null && up.isOpened())
            quietly("abort the upstream side", () -> up.aborter().abort(up.getEndPoint(), cause));
        TunnelConnection down = downstream;
        if (down != null && down.isOpened())
            quietly("close the downstream side", () -> down.getEndPoint().close(cause));
        return true;
    }

    /**
     * Runs a step of ending the tunnel so that its failure cannot keep the next steps, nor the
     * report, from happening. A failure here is a bug in an endpoint (ours or Jetty's).
     */
    private void quietly(String what, Runnable step)
    {
        try
        {
            step.run();
        }
        catch (Throwable x)
        {
            LOG.warn("tunnel {}: failed to {}", id(), what, x);
        }
    }

    /**
     * @param remote the client's address, as the request's connection has it
     * @param local  the address the client connected to
     */
    public void setDownstreamAddresses(SocketAddress remote, SocketAddress local)
    {
        downstreamRemoteAddress = remote;
        downstreamLocalAddress = local;
    }

    /** @param cluster the name of the cluster the tunnel goes to */
    public void setUpstreamCluster(String cluster)
    {
        upstreamCluster = cluster;
    }

    /** @param status the status answered (see {@link TunnelInfo#responseCode()}), e.g. 200 as the tunnel is established */
    public void setResponseCode(int status)
    {
        responseCode = status;
    }

    /** @return whether the tunnel started (its opening may still be being reported) and has not ended */
    public boolean isOpen()
    {
        State current = state;
        return current == State.STARTING || current == State.OPEN;
    }

    private void cancelMaxDuration()
    {
        Scheduler.Task task = maxDurationTask;
        if (task != null)
            task.cancel();
    }

    private void notifyOpened()
    {
        try
        {
            listener.onOpened(this);
        }
        catch (Throwable x)
        {
            LOG.warn("tunnel {}: listener {} failed in onOpened", id(), listener, x);
        }
    }

    private void notifyClosed(TunnelFailure outcome, Throwable cause)
    {
        try
        {
            listener.onClosed(this, outcome, cause);
        }
        catch (Throwable x)
        {
            LOG.warn("tunnel {}: listener {} failed in onClosed", id(), listener, x);
        }
    }

    private void notifyRefused(TunnelFailure failure, Throwable cause)
    {
        try
        {
            listener.onRefused(this, failure, cause);
        }
        catch (Throwable x)
        {
            LOG.warn("tunnel {}: listener {} failed in onRefused", id(), listener, x);
        }
    }

    @Override
    public String id()
    {
        return Long.toString(serial, 36);
    }

    @Override
    public String authority()
    {
        return authority;
    }

    @Override
    public String protocol()
    {
        return protocol;
    }

    @Override
    public SocketAddress downstreamRemoteAddress()
    {
        return downstreamRemoteAddress;
    }

    @Override
    public SocketAddress downstreamLocalAddress()
    {
        return downstreamLocalAddress;
    }

    @Override
    public SocketAddress upstreamAddress()
    {
        return upstreamAddress;
    }

    @Override
    public String upstreamCluster()
    {
        return upstreamCluster;
    }

    @Override
    public int responseCode()
    {
        return responseCode;
    }

    @Override
    public Instant startTime()
    {
        return Instant.ofEpochSecond(0, startEpochNanos);
    }

    /** Nanoseconds since the epoch, which a long holds until 2262. */
    private static long epochNanos(Instant instant)
    {
        return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
    }

    @Override
    public long bytesFromDownstream()
    {
        Pipe p = toUpstream;
        return p == null ? 0 : p.bytes();
    }

    @Override
    public long bytesFromUpstream()
    {
        Pipe p = toDownstream;
        return p == null ? 0 : p.bytes();
    }

    @Override
    public String toString()
    {
        return "Tunnel[%s,%s,%s,up=%d,down=%d]".formatted(id(), authority, state, bytesFromDownstream(), bytesFromUpstream());
    }
}
