package dev.adit.upstream;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadPendingException;
import java.nio.channels.WritePendingException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.adit.core.TunnelEndPointSupport;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream side of a POST tunnel over HTTP/1.1 (Envoy's {@code use_post}), once the
 * upstream answered 2xx: an {@link EndPoint} over the socket's endpoint (decrypted, under TLS)
 * whose writes are the chunks of the request body and whose reads are the response body. The
 * tunnel core runs on it unchanged, as on a socket.
 *
 * <p><b>Writing.</b> {@link #write} sends the buffers as one chunk, with one gathering write of
 * the chunk-size line, the buffers themselves and the closing CRLF; empty writes send nothing
 * (an empty chunk would end the body). {@link #shutdownOutput()}, the client's half-close, sends
 * the last chunk {@code 0\r\n\r\n}; the socket stays open both ways, as HTTP/1.1 expects until
 * the response ends. It must come after the last write completed, as the tunnel's pipes do.
 * {@link #flush} is not supported: a partly flushed chunk could not be resumed.</p>
 *
 * <p><b>Reading.</b> {@link #fill} reads the socket straight into the caller's buffer and takes
 * the framing off in place ({@link Http1BodyDecoder}): chunked, Content-Length or to the close.
 * The body's end is the end of input (-1), the target side's half-close; the socket is not
 * read after it. Bytes that came with the answer's head are decoded first (they are framed, so
 * {@link #upgrade} does not hand them over). A body cut short (the close before the last chunk
 * or the Content-Length) or malformed framing is thrown as an {@link IOException}, so that the
 * tunnel aborts instead of mistaking it for a clean end. A
 * reset of the socket is thrown too (the socket is a {@link dev.adit.core.ResetAwareEndPoint}).
 * Fill interest is the socket's.</p>
 *
 * <p><b>Closing.</b> {@link #close(Throwable)} closes the socket and tells the installed
 * connection. A clean close (no cause) that comes while the last chunk is still being written,
 * as the tunnel's close does when the socket's send buffer is full, waits for that write, so
 * that the upstream sees the whole body; the socket's idle timeout bounds the wait. The socket
 * closing underneath (reset, failure, the connector stopping) reaches the installed connection
 * through {@link #onSocketClosed}, which {@link Http1PostConnection} calls: it stays the
 * socket's connection, as Jetty's SslConnection does under its decrypted endpoint, and passes
 * the socket's idle timeout on through {@link #onIdleExpired}. The socket's idle timeout is
 * this endpoint's. {@link dev.adit.core.EndPointAborter#TCP_RESET} reaches the socket through
 * {@link #getTransport()}.</p>
 *
 * <p><b>Threading.</b> {@link #fill} by one reader at a time and {@link #write} by one writer at
 * a time, as the pipes do; close may race both. Nothing blocks. Callbacks keep the caller's
 * invocation type, since they are the socket's.</p>
 */
final class Http1PostEndPoint extends TunnelEndPointSupport implements EndPoint.Wrapper
{
    private static final Logger LOG = LoggerFactory.getLogger(Http1PostEndPoint.class);
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final EndPoint socket;
    private final Http1BodyDecoder decoder;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean closeNotified = new AtomicBoolean();
    private final AtomicBoolean outputShutdown = new AtomicBoolean();
    /** Raw response bytes that came with the answer's head, not decoded yet; the reader's only. */
    private ByteBuffer early;
    private volatile boolean lastChunkWritten;

    /**
     * @param socket  connected to the upstream that answered 2xx (decrypted, under TLS)
     * @param decoder the response body's framing
     * @param early   response bytes read with the head (the start of the body), or null; kept
     *                until decoded, so the caller hands over a buffer it no longer uses
     */
    Http1PostEndPoint(EndPoint socket, Http1BodyDecoder decoder, ByteBuffer early)
    {
        super(LOG);
        this.socket = Objects.requireNonNull(socket, "socket");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.early = early != null && early.hasRemaining() ? early : null;
    }

    @Override
    public EndPoint unwrap()
    {
        return socket;
    }

    /** @return the socket's endpoint, so that a TCP reset reaches the socket */
    @Override
    public Object getTransport()
    {
        return socket;
    }

    @Override
    public SocketAddress getLocalSocketAddress()
    {
        return socket.getLocalSocketAddress();
    }

    @Override
    public SocketAddress getRemoteSocketAddress()
    {
        return socket.getRemoteSocketAddress();
    }

    @Override
    public SslSessionData getSslSessionData()
    {
        return socket.getSslSessionData();
    }

    @Override
    public boolean isOpen()
    {
        return !closed.get() && socket.isOpen();
    }

    /** @return whether the response body ended (or the socket's input, or this endpoint, closed) */
    @Override
    public boolean isInputShutdown()
    {
        return closed.get() || decoder.isComplete() || socket.isInputShutdown();
    }

    /** @return whether the last chunk was sent (or is on its way), or the socket's output is shut */
    @Override
    public boolean isOutputShutdown()
    {
        return closed.get() || outputShutdown.get() || socket.isOutputShutdown();
    }

    // ---- reading ----

    @Override
    public int fill(ByteBuffer buffer) throws IOException
    {
        if (decoder.isComplete())
            return -1;
        int from = buffer.limit();
        while (true)
        {
            int filled = early != null ? takeEarly(buffer) : socket.fill(buffer);
            if (filled == 0)
                return 0;
            if (filled < 0)
            {
                // Throws when the body was cut short.
                decoder.onEof();
                return -1;
            }
            int produced = decoder.decode(buffer, from);
            if (produced > 0)
                return produced;
            if (decoder.isComplete())
                return -1;
            // Framing only: read on.
        }
    }

    /** Appends as much of the early bytes as fits (flush mode, as {@link EndPoint#fill} appends). */
    private int takeEarly(ByteBuffer buffer)
    {
        ByteBuffer bytes = early;
        int space = buffer.capacity() - buffer.limit();
        int n = Math.min(space, bytes.remaining());
        if (n == 0)
            return 0;
        int at = buffer.limit();
        buffer.limit(at + n);
        buffer.put(at, bytes, bytes.position(), n);
        bytes.position(bytes.position() + n);
        if (!bytes.hasRemaining())
            early = null;
        return n;
    }

    /**
     * Registers for the socket's fill interest; when something is left to read without the
     * socket (early bytes, or the end of the body), succeeds the callback at once instead.
     */
    @Override
    public void fillInterested(Callback callback) throws ReadPendingException
    {
        if (early != null || decoder.isComplete())
            callback.succeeded();
        else
            socket.fillInterested(callback);
    }

    @Override
    public boolean tryFillInterested(Callback callback)
    {
        if (early != null || decoder.isComplete())
        {
            callback.succeeded();
            return true;
        }
        return socket.tryFillInterested(callback);
    }

    @Override
    public boolean isFillInterested()
    {
        return socket.isFillInterested();
    }

    // ---- writing ----

    /** Not supported: a chunk flushed in part could not be resumed by a later flush. */
    @Override
    public boolean flush(ByteBuffer... buffers) throws IOException
    {
        throw new UnsupportedOperationException("POST tunnel chunks are sent with write()");
    }

    /** Sends the buffers as one chunk; nothing for empty buffers (an empty chunk is the last one). */
    @Override
    public void write(Callback callback, ByteBuffer... buffers) throws WritePendingException
    {
        if (outputShutdown.get())
        {
            callback.failed(new EofException("the request body already ended"));
            return;
        }
        long length = 0;
        for (ByteBuffer buffer : buffers)
            length += buffer.remaining();
        if (length == 0)
        {
            callback.succeeded();
            return;
        }
        ByteBuffer[] chunk = new ByteBuffer[buffers.length + 2];
        chunk[0] = chunkSizeLine(length);
        System.arraycopy(buffers, 0, chunk, 1, buffers.length);
        chunk[chunk.length - 1] = ByteBuffer.wrap(CRLF);
        socket.write(callback, chunk);
    }

    /** {@code <hex length>\r\n}, lower case, no leading zeros. */
    private static ByteBuffer chunkSizeLine(long length)
    {
        int digits = Math.max(1, (Long.SIZE - Long.numberOfLeadingZeros(length) + 3) / 4);
        byte[] line = new byte[digits + 2];
        for (int i = digits - 1, shift = 0; i >= 0; i--, shift += 4)
            line[i] = HEX[(int)(length >>> shift) & 0xF];
        line[digits] = '\r';
        line[digits + 1] = '\n';
        return ByteBuffer.wrap(line);
    }

    /** Ends the request body with the last chunk; the socket stays open, the response may go on. */
    @Override
    public void shutdownOutput()
    {
        if (closed.get() || !outputShutdown.compareAndSet(false, true))
            return;
        if (LOG.isDebugEnabled())
            LOG.debug("sending the last chunk on {}", this);
        try
        {
            socket.write(Callback.from(Invocable.InvocationType.NON_BLOCKING, this::onLastChunkWritten, this::onLastChunkFailed), ByteBuffer.wrap(LAST_CHUNK));
        }
        catch (WritePendingException x)
        {
            onLastChunkFailed(x);
        }
    }

    private void onLastChunkWritten()
    {
        lastChunkWritten = true;
        // A clean close may have come meanwhile and left the socket to this callback.
        if (closed.get())
            socket.close();
    }

    private void onLastChunkFailed(Throwable failure)
    {
        if (LOG.isDebugEnabled())
            LOG.debug("the last chunk failed on {}", this, failure);
        socket.close(failure);
        close(failure);
    }

    /** Fails a pending write and closes: the chunk it was part of can never be completed. */
    @Override
    public Callback cancelWrite(Throwable cause)
    {
        Callback cancelled = socket.cancelWrite(cause);
        close(cause);
        return cancelled;
    }

    // ---- closing ----

    /**
     * Closes the socket and tells the installed connection. Without a cause, and once the last
     * chunk was asked for but is not written yet, the socket is closed when it is.
     */
    @Override
    public void close(Throwable cause)
    {
        if (!closed.compareAndSet(false, true))
            return;
        if (LOG.isDebugEnabled())
            LOG.debug("closing {}", this, cause);
        if (cause != null || !outputShutdown.get() || lastChunkWritten)
            socket.close(cause);
        notifyClosed(cause);
    }

    /** The socket closed (by this endpoint, or underneath it): tells the installed connection once. */
    void onSocketClosed(Throwable cause)
    {
        closed.set(true);
        notifyClosed(cause);
    }

    /**
     * The socket's idle timeout expired.
     *
     * @return whether the socket should be closed: the connection did not handle the timeout,
     * or this endpoint is closed already and was only waiting for the last chunk
     */
    boolean onIdleExpired(TimeoutException timeout)
    {
        Connection c = getConnection();
        if (closed.get() || c == null)
            return true;
        return c.onIdleExpired(timeout);
    }

    private void notifyClosed(Throwable cause)
    {
        if (!closeNotified.compareAndSet(false, true))
            return;
        onClose(cause);
        Connection c = getConnection();
        if (c != null)
            c.onClose(cause);
    }

    // ---- idle timeout ----

    @Override
    public long getIdleTimeout()
    {
        return socket.getIdleTimeout();
    }

    @Override
    public void setIdleTimeout(long idleTimeout)
    {
        socket.setIdleTimeout(idleTimeout);
    }

    /** Nothing to do: the socket is open already. */
    @Override
    public void onOpen()
    {
    }

    @Override
    public String toString()
    {
        return "Http1PostEndPoint@%x[%s,out=%s,closed=%b,%s]->%s".formatted(hashCode(), decoder,
            lastChunkWritten ? "ended" : outputShutdown.get() ? "ending" : "open", closed.get(), describe(getConnection()), socket);
    }
}
