package dev.adit.upstream;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLHandshakeException;

import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Drives the client TLS handshake on the decrypted endpoint of an {@link org.eclipse.jetty.io.ssl.SslConnection},
 * then replaces itself with the caller's connection, in the manner of Jetty's
 * {@code NegotiatingClientConnection}.
 *
 * <p>Why a connection of its own: {@code SslConnection} only handshakes when the connection
 * above it reads or writes, and the caller's connection may do neither until later (a tunnel's
 * upstream side waits for the tunnel to start). So this one flushes nothing (which sends the
 * ClientHello) and then fills into an empty buffer until the handshake listener reports success.
 * Application bytes that arrive with the last handshake flight stay decrypted inside the
 * {@code SslConnection} for the next connection's first fill.</p>
 *
 * <p>Trust, SPKI pins and host name are checked by the trust manager during the handshake, so
 * success here means all of them passed. Failures of any kind go to the dial attempt, which
 * closes the socket.</p>
 */
final class TlsHandshakeConnection extends AbstractConnection implements SslHandshakeListener
{
    private final DialAttempt attempt;
    private volatile boolean handshaken;
    private volatile boolean replaced;
    private volatile Throwable handshakeFailure;

    TlsHandshakeConnection(EndPoint sslEndPoint, Executor executor, DialAttempt attempt)
    {
        super(sslEndPoint, executor);
        this.attempt = attempt;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        try
        {
            // Flushing nothing starts the handshake: the ClientHello goes out.
            getEndPoint().flush(BufferUtil.EMPTY_BUFFER);
            if (handshaken)
                replace();
            else
                fillInterested();
        }
        catch (Throwable x)
        {
            attempt.failed(x);
        }
    }

    @Override
    public void onFillable()
    {
        try
        {
            while (true)
            {
                // Filling into an empty buffer makes the SslConnection unwrap handshake records.
                int filled = getEndPoint().fill(BufferUtil.EMPTY_BUFFER);
                if (handshaken)
                {
                    replace();
                    return;
                }
                if (filled < 0)
                    throw new SSLHandshakeException("connection closed by the peer during the handshake");
                if (filled == 0)
                {
                    fillInterested();
                    return;
                }
            }
        }
        catch (Throwable x)
        {
            attempt.failed(x);
        }
    }

    @Override
    public void handshakeSucceeded(Event event)
    {
        handshaken = true;
    }

    @Override
    public void handshakeFailed(Event event, Throwable failure)
    {
        // Called before the SslConnection closes the socket, whose close may reach onClose()
        // before the exception reaches onFillable(): keep the real reason for either.
        handshakeFailure = failure;
    }

    private void replace()
    {
        replaced = true;
        attempt.handshakeSucceeded(getEndPoint());
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeout)
    {
        attempt.failed(timeout);
        return true;
    }

    @Override
    public void onClose(Throwable cause)
    {
        super.onClose(cause);
        // The replacement closes this connection too (cause null); anything else is a failure.
        if (!replaced)
        {
            Throwable failure = handshakeFailure;
            if (failure == null)
                failure = cause != null ? cause : new EofException("connection closed during the TLS handshake");
            attempt.failed(failure);
        }
    }

    @Override
    public String toConnectionString()
    {
        return "TlsHandshakeConnection[handshaken=%b]".formatted(handshaken);
    }
}
