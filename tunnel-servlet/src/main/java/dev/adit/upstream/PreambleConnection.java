package dev.adit.upstream;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * The first connection on a freshly connected socket when the dial has a preamble (e.g. a PROXY
 * protocol header): it writes the preamble in clear, then replaces itself with what follows
 * (TLS, or the caller's connection) through {@link EndPoint#upgrade}. It never reads, so
 * whatever the target sends meanwhile stays in the socket for the next connection.
 *
 * <p>The preamble buffer is the caller's (a view); nothing is pooled here.</p>
 */
final class PreambleConnection extends AbstractConnection
{
    private final ByteBuffer preamble;
    private final DialAttempt attempt;
    private volatile boolean written;

    PreambleConnection(EndPoint endPoint, Executor executor, ByteBuffer preamble, DialAttempt attempt)
    {
        super(endPoint, executor);
        this.preamble = preamble;
        this.attempt = attempt;
    }

    @Override
    public void onOpen()
    {
        super.onOpen();
        getEndPoint().write(Callback.from(Invocable.InvocationType.NON_BLOCKING, this::onWritten, attempt::failed), preamble);
    }

    private void onWritten()
    {
        written = true;
        attempt.preambleWritten(getEndPoint());
    }

    @Override
    public void onFillable()
    {
        // Never called: this connection does not read.
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
        // An upgrade closes this connection too (cause null), after the preamble was written.
        if (!written)
            attempt.failed(cause != null ? cause : new EofException("connection closed before the preamble was written"));
    }

    @Override
    public String toConnectionString()
    {
        return "PreambleConnection[%d bytes left]".formatted(preamble.remaining());
    }
}
