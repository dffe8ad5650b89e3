package dev.adit.handler;

import dev.adit.core.Tunnel;
import dev.adit.core.TunnelFailure;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.HttpStream;

/**
 * Ends a CONNECT tunnel whose 200 was sent but whose downstream side Jetty did not open.
 *
 * <p>Why: Jetty installs the tunnel's connection on the endpoint only as it completes the
 * exchange ({@link HttpStream#succeeded()}), and skips that when the exchange failed, when an
 * HTTP/2 client reset its stream first ({@code HttpStreamOverHTTP2.succeeded} checks
 * {@code isClosed()}), or when an HTTP/1.1 read is pending. Nothing would then tell the tunnel,
 * which would keep its target connected and never be reported. Jetty completes every exchange
 * exactly once, through the stream wrappers, so this sees each outcome, on whatever thread and
 * however late (the handler's callback may complete before the handler returned, and the
 * completion then waits for the return).</p>
 *
 * <p>On HTTP/2 a reset may also arrive between Jetty's check and the endpoint taking the stream
 * over: it then goes to the exchange, never to the endpoint, and the tunnel is aborted here.
 * HTTP/2 classes are touched through {@link Http2Streams} for HTTP/2 requests only.</p>
 *
 * <p>{@link #wrap} is given to {@code Request.addHttpStreamWrapper} while the request is
 * handled (a wrapper needs a live exchange); {@link #expect} arms the check once the tunnel's
 * connection exists. Unarmed, as when the tunnel was refused with a non-2xx status, it does
 * nothing.</p>
 */
final class UpgradeCheck
{
    private final Tunnel tunnel;
    private final EndPoint endPoint;
    private final boolean http2;
    private volatile Connection expected;

    /**
     * @param endPoint the tunnel's downstream endpoint ({@code TunnelSupport.getEndPoint()})
     * @param http2    whether the request came over HTTP/2
     */
    UpgradeCheck(Tunnel tunnel, EndPoint endPoint, boolean http2)
    {
        this.tunnel = tunnel;
        this.endPoint = endPoint;
        this.http2 = http2;
    }

    /** @return {@code stream}, checked once it completes */
    HttpStream wrap(HttpStream stream)
    {
        return new HttpStream.Wrapper(stream)
        {
            @Override
            public void succeeded()
            {
                try
                {
                    super.succeeded();
                }
                finally
                {
                    check(null);
                }
            }

            @Override
            public void failed(Throwable x)
            {
                try
                {
                    super.failed(x);
                }
                finally
                {
                    check(x);
                }
            }
        };
    }

    /** @param connection the tunnel's downstream connection, which Jetty should install on the endpoint */
    void expect(Connection connection)
    {
        expected = connection;
    }

    private void check(Throwable failure)
    {
        Connection connection = expected;
        if (connection == null)
            return;
        if (endPoint.getConnection() != connection)
        {
            // Refused, with the 200 if it went out: the response code logged is what was sent.
            Throwable cause = failure != null ? failure : new EofException("the client went away as the tunnel opened");
            tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, failure == null ? HttpStatus.OK_200 : 0, cause);
        }
        else if (http2 && Http2Streams.isReset(endPoint))
        {
            EofException reset = new EofException("the client reset the stream as the tunnel opened");
            // Whichever applies: not started (the upstream side has not opened), or started.
            tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, HttpStatus.OK_200, reset);
            tunnel.abort(TunnelFailure.DOWNSTREAM_RESET, reset);
        }
    }
}
