package dev.adit.core;

import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.IdleTimeout;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;

/**
 * The connection plumbing shared by the endpoints that carry a tunnel over something other than
 * a plain socket (an HTTP exchange, a chunked HTTP/1.1 body), so that each of them is only what
 * makes it different: how it reads, writes, closes and times out.
 *
 * <p>It holds the installed {@link Connection} and the creation time, logs
 * {@link #onClose(Throwable)} with the subclass's logger, and {@link #upgrade upgrades} by
 * installing and opening the new connection without handing bytes over: none of these
 * endpoints has bytes to hand over, as what came early is still where the first fill reads
 * it. For the endpoints that keep their own idle timeout it makes one
 * ({@link #newIdleTimeout}) whose expiry goes to {@link #onIdleTimeout}.</p>
 */
public abstract class TunnelEndPointSupport implements EndPoint
{
    private final Logger log;
    private final long created = System.currentTimeMillis();
    private volatile Connection connection;

    /** @param log the subclass's logger, so that what is logged here is under its name */
    protected TunnelEndPointSupport(Logger log)
    {
        this.log = log;
    }

    @Override
    public long getCreatedTimeStamp()
    {
        return created;
    }

    @Override
    public Connection getConnection()
    {
        return connection;
    }

    @Override
    public void setConnection(Connection connection)
    {
        this.connection = connection;
    }

    @Override
    public void onClose(Throwable cause)
    {
        if (log.isDebugEnabled())
            log.debug("onClose {}", this, cause);
    }

    /** Installs {@code newConnection} and opens it; there are no bytes to hand over. */
    @Override
    public void upgrade(Connection newConnection)
    {
        Connection old = connection;
        setConnection(newConnection);
        if (old != null)
            old.onClose(null);
        newConnection.onOpen();
    }

    /**
     * An idle timeout of this endpoint's own, for endpoints that have no socket's to use.
     *
     * @param scheduler for the timeout
     * @param active    whether the timeout should still fire: the endpoint is open and its
     *                  exchange not completed
     * @return a timeout whose expiry calls {@link #onIdleTimeout}; not armed yet
     */
    protected final IdleTimeout newIdleTimeout(Scheduler scheduler, BooleanSupplier active)
    {
        return new IdleTimeout(scheduler)
        {
            @Override
            protected void onIdleExpired(TimeoutException timeout)
            {
                onIdleTimeout(timeout);
            }

            @Override
            public boolean isOpen()
            {
                return active.getAsBoolean();
            }
        };
    }

    /** Tells the installed connection, and closes with the timeout unless the connection handled it. */
    protected void onIdleTimeout(TimeoutException timeout)
    {
        Connection c = connection;
        if (log.isDebugEnabled())
            log.debug("idle timeout on {}", this, timeout);
        if (c == null || c.onIdleExpired(timeout))
            close(timeout);
    }

    /** Not the connection's toString(), which prints this endpoint. */
    protected static String describe(Connection connection)
    {
        if (connection instanceof AbstractConnection c)
            return c.toConnectionString();
        return connection == null ? "-" : connection.getClass().getSimpleName();
    }
}
