package dev.adit.handler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadPendingException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * The reading half of a {@link PostTunnelEndPoint}: the request body as {@code EndPoint.fill}
 * and fill interest.
 *
 * <p>{@link #fill} copies from {@link Request#read()} chunks. A partly consumed chunk is kept
 * for the next fill; a chunk is released as soon as it is consumed. It returns 0 when nothing
 * is available, and -1 once the last chunk has been consumed (the client's half-close); a
 * terminal failure chunk is thrown, and thrown again by later fills. A transient
 * {@link TimeoutException} chunk (Jetty's own idle timeout, with demand pending) goes to the
 * timeout handler and the fill returns 0.</p>
 *
 * <p>{@link #tryFillInterested} allows one pending interest. The callback runs at once when a
 * fill would not return 0 (a chunk is held, the body ended or failed, the source is closed),
 * otherwise from {@link Request#demand}, with the callback's own invocation type.</p>
 *
 * <p>Threading: one filler at a time; {@link #close} may race it. The lock is never held while
 * calling into Jetty, except to release a chunk.</p>
 */
final class RequestBodySource
{
    /** {@link #consume} holds no chunk: read one. */
    private static final int READ = -2;
    /** {@link #consume} met a transient timeout, left in {@link #timeout}. */
    private static final int TIMEOUT = -3;

    private final Request request;
    private final Runnable onEnd;
    private final Consumer<TimeoutException> onTimeout;
    private final AtomicReference<Callback> interest = new AtomicReference<>();
    private final AtomicBoolean endNotified = new AtomicBoolean();
    private final Demand demand = new Demand();

    // Guarded by 'this'.
    private Content.Chunk chunk;
    private boolean ended;
    private Throwable failure;
    private boolean closed;
    private TimeoutException timeout;

    /**
     * @param onEnd     run once, by the fill that consumed the last chunk
     * @param onTimeout told of a transient idle timeout reported by Jetty
     */
    RequestBodySource(Request request, Runnable onEnd, Consumer<TimeoutException> onTimeout)
    {
        this.request = request;
        this.onEnd = onEnd;
        this.onTimeout = onTimeout;
    }

    synchronized boolean isEnded()
    {
        return ended;
    }


    synchronized String state()
    {
        return failure != null ? "failed" : ended ? "ended" : "open";
    }

    int fill(ByteBuffer sink) throws IOException
    {
        while (true)
        {
            int filled;
            boolean endedNow;
            TimeoutException expired;
            synchronized (this)
            {
                filled = consume(sink);
                endedNow = ended;
                expired = timeout;
                timeout = null;
            }
            if (filled == TIMEOUT)
            {
                onTimeout.accept(expired);
                return 0;
            }
            if (filled != READ)
            {
                if (endedNow && endNotified.compareAndSet(false, true))
                    onEnd.run();
                return filled;
            }
            Content.Chunk next = request.read();
            if (next == null)
                return 0;
            synchronized (this)
            {
                if (closed)
                {
                    next.release();
                    throw new EofException("closed");
                }
                chunk = next;
            }
        }
    }

    /**
     * @return bytes copied, 0 if the sink is full, -1 at the end, {@link #READ} or
     * {@link #TIMEOUT}; empty chunks are skipped
     */
    private int consume(ByteBuffer sink) throws IOException
    {
        while (true)
        {
            if (failure != null)
                throw asIOException(failure);
            if (chunk == null)
            {
                if (ended)
                    return -1;
                if (closed)
                    throw new EofException("closed");
                return READ;
            }
            if (Content.Chunk.isFailure(chunk))
            {
                Content.Chunk failed = chunk;
                chunk = null;
                if (!failed.isLast() && failed.getFailure() instanceof TimeoutException expired)
                {
                    timeout = expired;
                    return TIMEOUT;
                }
                failure = failed.getFailure();
                throw asIOException(failure);
            }
            if (chunk.hasRemaining() && BufferUtil.space(sink) == 0)
                return 0;
            int copied = BufferUtil.append(sink, chunk.getByteBuffer());
            if (!chunk.hasRemaining())
            {
                ended = chunk.isLast();
                chunk.release();
                chunk = null;
            }
            if (copied > 0)
                return copied;
            // An empty chunk: the end if it was the last one, else read on.
        }
    }

    private static IOException asIOException(Throwable cause)
    {
        return cause instanceof IOException io ? io : new IOException(cause);
    }

    boolean tryFillInterested(Callback callback)
    {
        if (!interest.compareAndSet(null, callback))
            return false;
        boolean now;
        synchronized (this)
        {
            now = chunk != null || ended || failure != null || closed;
        }
        if (now)
            onFillable();
        else
            request.demand(demand);
        return true;
    }

    void fillInterested(Callback callback) throws ReadPendingException
    {
        if (!tryFillInterested(callback))
            throw new ReadPendingException();
    }

    boolean isFillInterested()
    {
        return interest.get() != null;
    }

    private void onFillable()
    {
        Callback interested = interest.getAndSet(null);
        if (interested == null)
            return;
        boolean failed;
        synchronized (this)
        {
            // A closed source has nothing more to read, not even a clean end.
            failed = closed && chunk == null && !ended && failure == null;
        }
        if (failed)
            interested.failed(new EofException("closed"));
        else
            interested.succeeded();
    }

    /** Releases a held chunk and fails a pending fill interest; later fills throw. */
    void close(Throwable cause)
    {
        Content.Chunk retained;
        synchronized (this)
        {
            if (closed)
                return;
            closed = true;
            retained = chunk;
            chunk = null;
        }
        if (retained != null)
            retained.release();
        Callback interested = interest.getAndSet(null);
        if (interested != null)
            interested.failed(cause != null ? cause : new EofException("closed"));
    }

    /** The demand callback: runs the pending fill interest, with its invocation type. */
    private final class Demand implements Runnable, Invocable
    {
        @Override
        public void run()
        {
            onFillable();
        }

        @Override
        public InvocationType getInvocationType()
        {
            return Invocable.getInvocationType(interest.get());
        }
    }
}
