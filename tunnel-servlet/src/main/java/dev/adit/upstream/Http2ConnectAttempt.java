package dev.adit.upstream;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;

import dev.adit.config.HostPort;
import dev.adit.core.TunnelException;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt to add a connection to an endpoint's pool: resolve the name without blocking,
 * try the addresses in order (TCP, then TLS with ALPN {@code h2} when configured), and wait for
 * the peer's first SETTINGS frame, which carries its SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113
 * §3.4: the server's preface is a SETTINGS frame). The whole attempt is bounded by the connect
 * timeout. It completes exactly once: {@link #succeed()} or {@link #fail(Throwable)}, the
 * failure classified as {@code DNS_FAILURE}, {@code CONNECT_FAILED}, {@code CONNECT_TIMEOUT}
 * or {@code TLS_FAILED}.
 */
final class Http2ConnectAttempt
{
    private static final Logger LOG = LoggerFactory.getLogger(Http2ConnectAttempt.class);

    private final AtomicBoolean done = new AtomicBoolean();
    private final Http2ConnectPool pool;
    private final Http2Destination destination;
    private final Http2PooledSession pooled;
    private volatile Scheduler.Task timeout;
    // Written by one callback at a time: the resolver's, then each failed connect's.
    private volatile List<InetSocketAddress> addresses;
    private volatile int index;

    Http2ConnectAttempt(Http2ConnectPool pool, Http2Destination destination, Http2PooledSession pooled)
    {
        this.pool = pool;
        this.destination = destination;
        this.pooled = pooled;
    }

    Http2PooledSession pooled()
    {
        return pooled;
    }

    void start()
    {
        HostPort endpoint = destination.endpoint();
        timeout = pool.scheduler().schedule(this::onTimeout, pool.getConnectTimeout().toMillis(), TimeUnit.MILLISECONDS);
        pool.resolver().resolve(endpoint.host(), endpoint.port(), Map.of(), new Promise<>()
        {
            @Override
            public void succeeded(List<InetSocketAddress> resolved)
            {
                addresses = resolved;
                next(null);
            }

            @Override
            public void failed(Throwable x)
            {
                fail(x instanceof TimeoutException ? x : new UnknownHostException(endpoint.host() + ": " + x.getMessage()));
            }
        });
    }

    private void next(Throwable previous)
    {
        if (done.get())
            return;
        if (addresses == null || index >= addresses.size())
        {
            fail(previous == null ? new UnknownHostException(destination.endpoint().host() + ": no address") : previous);
            return;
        }
        InetSocketAddress address = withServerName(addresses.get(index++));
        if (LOG.isDebugEnabled())
            LOG.debug("connecting to {} at {}", destination.endpoint(), address);
        Promise<Session> connected = new Promise<>()
        {
            @Override
            public void succeeded(Session session)
            {
                pooled.session(session);
                // Ready once the peer's SETTINGS arrive (Http2Destination.onSettings).
                if (done.get())
                    pooled.close("connect_abandoned");
            }

            @Override
            public void failed(Throwable x)
            {
                next(x);
            }
        };
        HTTP2Client client = pool.getHttp2Client();
        if (pool.getSslContextFactory() == null)
            client.connect(address, pooled, connected);
        else
            client.connect(pool.getSslContextFactory(), address, pooled, connected);
    }

    /**
     * The TLS client takes the SNI name and the name its certificate check uses from the
     * address's host string; an address resolved from a name carries it. An explicit SNI host
     * replaces it without another lookup.
     */
    private InetSocketAddress withServerName(InetSocketAddress resolved)
    {
        String sni = pool.getSniHost();
        if (sni == null || pool.getSslContextFactory() == null)
            return resolved;
        try
        {
            return new InetSocketAddress(InetAddress.getByAddress(sni, resolved.getAddress().getAddress()), resolved.getPort());
        }
        catch (UnknownHostException x)
        {
            // Only thrown for an address of illegal length, which a resolved address never has.
            return resolved;
        }
    }

    /** @return whether this call completed the attempt successfully */
    boolean succeed()
    {
        if (!done.compareAndSet(false, true))
            return false;
        cancelTimeout();
        return true;
    }

    /** Fails the attempt (first completion wins), closing any half-made connection. */
    void fail(Throwable cause)
    {
        if (!done.compareAndSet(false, true))
            return;
        cancelTimeout();
        pooled.close("connect_failed");
        TunnelException failure = classify(cause);
        if (LOG.isDebugEnabled())
            LOG.debug("connection to {} failed: {}", destination.endpoint(), failure.getMessage(), cause);
        destination.onConnectFailed(pooled, failure);
    }

    boolean isDone()
    {
        return done.get();
    }

    private void onTimeout()
    {
        fail(new TimeoutException("no HTTP/2 session within " + pool.getConnectTimeout().toMillis() + " ms"));
    }

    private void cancelTimeout()
    {
        Scheduler.Task task = timeout;
        if (task != null)
            task.cancel();
    }

    private TunnelException classify(Throwable x)
    {
        if (x instanceof TunnelException te)
            return te;
        String endpoint = destination.endpoint().toString();
        for (Throwable c = x; c != null; c = c.getCause())
        {
            if (c instanceof SSLException)
                return new TunnelException(TunnelFailure.TLS_FAILED, "TLS to " + endpoint + " failed: " + c.getMessage(), x);
        }
        if (x instanceof SocketTimeoutException || x instanceof TimeoutException)
            return new TunnelException(TunnelFailure.CONNECT_TIMEOUT, "connect to " + endpoint + " timed out: " + x.getMessage(), x);
        if (x instanceof UnresolvedAddressException || x instanceof UnknownHostException)
            return new TunnelException(TunnelFailure.DNS_FAILURE, "cannot resolve " + destination.endpoint().host() + ": " + x.getMessage(), x);
        String what = x instanceof ConnectException || x instanceof NoRouteToHostException ? x.getMessage() : String.valueOf(x);
        return new TunnelException(TunnelFailure.CONNECT_FAILED, "connect to " + endpoint + " failed: " + what, x);
    }

    @Override
    public String toString()
    {
        return "Http2ConnectAttempt[%s,done=%b]".formatted(destination.endpoint(), done.get());
    }
}
