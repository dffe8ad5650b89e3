package dev.adit.handler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritePendingException;
import java.util.function.Consumer;

import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * The writing half of a {@link PostTunnelEndPoint}: {@code EndPoint.write} and
 * {@code shutdownOutput} as writes of the response body.
 *
 * <p>{@link #write} is one {@code response.write(false, ...)}, one at a time: a second write
 * while one is pending fails with {@link WritePendingException}, a write after the output was
 * shut down or failed fails too. {@link #shutdownOutput} writes the end of the body
 * ({@code response.write(true, ...)}: the terminating chunk on HTTP/1.1, END_STREAM on
 * HTTP/2), after the pending write if there is one. The writer's callback is completed with
 * its own invocation type; buffers stay the writer's and are not touched after the callback.</p>
 *
 * <p>Threading: one writer at a time; {@link #shutdownOutput} and {@link #cancel} may come
 * from other threads. Jetty is never called with the lock held.</p>
 */
final class ResponseBodySink
{
    private enum State
    {
        /** Writes allowed. */
        OPEN,
        /** shutdownOutput() came while a write was pending: the end follows that write. */
        SHUTDOWN_DEFERRED,
        /** The end of the body is being written. */
        SHUTTING_DOWN,
        /** The end of the body was written. */
        SHUT,
        /** A write or the end failed, or writing was cancelled. */
        FAILED
    }

    private final Response response;
    private final Runnable onActivity;
    private final Runnable onEndWritten;
    private final Consumer<Throwable> onEndFailed;
    private final WriteCompletion completion = new WriteCompletion();

    // Guarded by 'this'.
    private State state = State.OPEN;
    private Callback pending;
    private Throwable failure;

    /**
     * @param onActivity   run when a write starts or completes (the endpoint is not idle)
     * @param onEndWritten run once the end of the body was written
     * @param onEndFailed  told when the end of the body could not be written
     */
    ResponseBodySink(Response response, Runnable onActivity, Runnable onEndWritten, Consumer<Throwable> onEndFailed)
    {
        this.response = response;
        this.onActivity = onActivity;
        this.onEndWritten = onEndWritten;
        this.onEndFailed = onEndFailed;
    }

    /** @return whether shutdownOutput() was called and nothing failed (the end may be in flight) */
    synchronized boolean isShutdownRequested()
    {
        return state == State.SHUTDOWN_DEFERRED || state == State.SHUTTING_DOWN || state == State.SHUT;
    }

    synchronized boolean isEndWritten()
    {
        return state == State.SHUT;
    }

    synchronized boolean isOutputShutdown()
    {
        return state != State.OPEN;
    }

    synchronized String state()
    {
        return state.toString();
    }

    /** See {@code EndPoint.flush}: content is never flushed synchronously. */
    synchronized boolean flush(ByteBuffer... buffers) throws IOException
    {
        if (BufferUtil.remaining(buffers) == 0)
            return true;
        if (failure != null)
            throw failure instanceof IOException io ? io : new IOException(failure);
        if (state != State.OPEN)
            throw new EofException("output shut down");
        return false;
    }

    void write(Callback callback, ByteBuffer... buffers)
    {
        ByteBuffer content = coalesce(buffers);
        boolean empty = !content.hasRemaining();
        Throwable refused = null;
        synchronized (this)
        {
            if (failure != null)
                refused = failure;
            else if (state != State.OPEN)
                refused = new EofException("output shut down");
            else if (pending != null)
                refused = new WritePendingException();
            else if (!empty)
                pending = callback;
        }
        if (refused != null)
        {
            callback.failed(refused);
            return;
        }
        if (empty)
        {
            callback.succeeded();
            return;
        }
        onActivity.run();
        response.write(false, content, completion);
    }

    /** One response write per endpoint write: several buffers are copied into one (the pipes write one). */
    private static ByteBuffer coalesce(ByteBuffer[] buffers)
    {
        if (buffers == null || buffers.length == 0)
            return BufferUtil.EMPTY_BUFFER;
        if (buffers.length == 1)
            return buffers[0] == null ? BufferUtil.EMPTY_BUFFER : buffers[0];
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(BufferUtil.remaining(buffers)));
        for (ByteBuffer buffer : buffers)
        {
            if (buffer != null)
                all.put(buffer);
        }
        return all.flip();
    }

    void shutdownOutput()
    {
        synchronized (this)
        {
            if (state != State.OPEN)
                return;
            if (pending != null)
            {
                state = State.SHUTDOWN_DEFERRED;
                return;
            }
            state = State.SHUTTING_DOWN;
        }
        writeEnd();
    }

    private void writeEnd()
    {
        response.write(true, BufferUtil.EMPTY_BUFFER, Callback.from(Invocable.InvocationType.NON_BLOCKING, this::endSucceeded, this::endFailed));
    }

    private void endSucceeded()
    {
        synchronized (this)
        {
            state = State.SHUT;
        }
        onActivity.run();
        onEndWritten.run();
    }

    private void endFailed(Throwable x)
    {
        synchronized (this)
        {
            state = State.FAILED;
            if (failure == null)
                failure = x;
        }
        onEndFailed.accept(x);
    }

    private void writeSucceeded()
    {
        Callback written;
        boolean endNow = false;
        synchronized (this)
        {
            written = pending;
            pending = null;
            if (state == State.SHUTDOWN_DEFERRED)
            {
                state = State.SHUTTING_DOWN;
                endNow = true;
            }
        }
        onActivity.run();
        if (written != null)
            written.succeeded();
        if (endNow)
            writeEnd();
    }

    private void writeFailed(Throwable x)
    {
        Callback written;
        boolean endFailed;
        synchronized (this)
        {
            written = pending;
            pending = null;
            if (failure == null)
                failure = x;
            endFailed = state == State.SHUTDOWN_DEFERRED;
            state = State.FAILED;
        }
        if (written != null)
            written.failed(x);
        if (endFailed)
            onEndFailed.accept(x);
    }

    /**
     * Refuses further writes and hands back the pending write's callback, which the response
     * write in Jetty's hands will no longer complete.
     *
     * @return the pending write's callback, or null
     */
    Callback cancel(Throwable cause)
    {
        synchronized (this)
        {
            Callback cancelled = pending;
            pending = null;
            if (failure == null)
                failure = cause;
            if (state != State.SHUT)
                state = State.FAILED;
            return cancelled;
        }
    }

    /** Completes the pending write, with the invocation type of the writer's callback. */
    private final class WriteCompletion implements Callback
    {
        @Override
        public void succeeded()
        {
            writeSucceeded();
        }

        @Override
        public void failed(Throwable x)
        {
            writeFailed(x);
        }

        @Override
        public InvocationType getInvocationType()
        {
            Callback writer;
            synchronized (ResponseBodySink.this)
            {
                writer = pending;
            }
            return Invocable.getInvocationType(writer);
        }
    }
}
