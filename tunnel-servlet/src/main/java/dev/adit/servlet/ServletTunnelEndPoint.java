package dev.adit.servlet;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ReadPendingException;
import java.nio.channels.WritePendingException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import dev.adit.core.EndPointAborter;
import dev.adit.core.TunnelEndPointSupport;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.IdleTimeout;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EndPoint} over one exchange of the standard Servlet API in non-blocking mode
 * ({@link ReadListener}, {@link WriteListener}), for POST tunnels in any Servlet 6 container:
 * the request body is the byte stream towards the target, the response body the stream back.
 * The tunnel core ({@code dev.adit.core.Tunnel} and its pipes) runs on it unchanged, as it runs
 * on Jetty's core API through {@code dev.adit.handler.PostTunnelEndPoint}.
 *
 * <p><b>Reading.</b> {@link #fill} reads {@link ServletInputStream} while
 * {@link ServletInputStream#isReady()} says so, and returns 0 when it does not (the container
 * then calls {@link ReadListener#onDataAvailable}) and -1 once {@code read} returned -1: the
 * end of the request body (the terminating chunk, END_STREAM) is the client's half-close. One
 * fill interest at a time, run from {@code onDataAvailable} or {@code onAllDataRead}, or at
 * once when {@code isReady()} is already true. What the client sent before the tunnel started
 * is still in the request body, so {@link #upgrade} has no bytes to hand over.</p>
 *
 * <p><b>Writing.</b> Output operations (the commit of the response head, each
 * {@link #write}, the end of the body) are queued and carried out in order, each step only
 * after {@link ServletOutputStream#isReady()} returned true, as the Servlet API demands; a
 * step that leaves it false waits for {@link WriteListener#onWritePossible}. A write is
 * {@code write} then {@code flush} (containers aggregate small writes, and tunnel bytes must
 * not wait); its callback completes once the container is done with the bytes, which are
 * copied first (the pipes' buffers are direct). One write at a time
 * ({@link WritePendingException} otherwise). {@link #shutdownOutput()} closes the output
 * stream after a pending write: the terminating chunk on HTTP/1.1, END_STREAM on HTTP/2.</p>
 *
 * <p><b>Completing the exchange</b> ({@link AsyncContext#complete()}) happens once, when both
 * directions ended cleanly: the request body was read to its end <em>and</em> the output was
 * closed; earlier would cut off a client still sending after the target finished. Every other
 * end (a failure, a {@link #close(Throwable)} with a cause, a close before both directions
 * ended, the {@link #ABORTER}) fails the exchange through the {@code failer} given to the
 * constructor. On Jetty that aborts it (RST_STREAM on HTTP/2, a closed connection without the
 * terminating chunk on HTTP/1.1), so the client cannot mistake a failure for a clean end; the
 * Servlet API itself has no such call, and elsewhere the failer can only complete the
 * exchange. Failures the container reports while nothing is pending (a client's RST_STREAM
 * in a quiet moment) arrive through {@code onError} of the listeners and close this endpoint.</p>
 *
 * <p><b>Before the tunnel</b>, {@link #commit} sends the 200's head, and {@link #answer}
 * sends a refusal (status, body, end) and completes the exchange without waiting for the
 * request body.</p>
 *
 * <p><b>Idle timeout.</b> This endpoint keeps its own {@link IdleTimeout} (activity: a fill
 * that returned bytes, a write starting or completing). The container's own idle timeout
 * still applies to the exchange underneath and cannot be changed through the Servlet API: a
 * tunnel quiet for longer than the connector's idle timeout ends then.</p>
 *
 * <p><b>Threading.</b> All methods may be called from any thread; {@link #fill} by one reader
 * at a time and {@link #write} by one writer at a time, as the pipes do, while close may race
 * both. The container is never called with this object's lock held. Nothing blocks.</p>
 */
final class ServletTunnelEndPoint extends TunnelEndPointSupport
{
    /**
     * Aborts a {@link ServletTunnelEndPoint} by failing its exchange; any other endpoint gets
     * {@link EndPointAborter#TCP_RESET}.
     */
    static final EndPointAborter ABORTER = (endPoint, cause) ->
    {
        if (endPoint instanceof ServletTunnelEndPoint servlet)
            servlet.abort(cause);
        else
            EndPointAborter.TCP_RESET.abort(endPoint, cause);
    };

    private static final Logger LOG = LoggerFactory.getLogger(ServletTunnelEndPoint.class);
    /** What {@link #step} returns after a container call that completed nothing yet: step again. */
    private static final Runnable STEPPED = () ->
    {
    };

    private final AsyncContext async;
    private final ServletInputStream in;
    private final ServletOutputStream out;
    private final SocketAddress local;
    private final SocketAddress remote;
    private final Consumer<Throwable> failer;
    private final IdleTimeout idleness;
    private final AtomicBoolean completed = new AtomicBoolean();
    private final byte[] readBuffer;

    // Guarded by 'this'.
    private final ArrayDeque<Op> ops = new ArrayDeque<>();
    private Callback fillInterest;
    private boolean inputEnded;
    private Throwable failure;
    private boolean closed;
    private boolean shutdownRequested;
    private boolean endWritten;
    private boolean answering;
    private boolean writing;
    private boolean progressing;
    private boolean again;
    private byte[] writeBuffer = new byte[0];

    /**
     * Takes the exchange over: sets the read and write listeners, so call it on the thread
     * that started {@code async}, before returning from {@code service}.
     *
     * @param async      the started async context of the exchange, with no timeout
     * @param local      the address the client connected to
     * @param remote     the client's address
     * @param scheduler  for this endpoint's idle timeout
     * @param bufferSize the largest read
     * @param failer     fails the exchange abortively (see the class comment)
     */
    ServletTunnelEndPoint(AsyncContext async, SocketAddress local, SocketAddress remote, Scheduler scheduler, int bufferSize,
                          Consumer<Throwable> failer) throws IOException
    {
        super(LOG);
        this.async = async;
        this.in = async.getRequest().getInputStream();
        this.out = async.getResponse().getOutputStream();
        this.local = local;
        this.remote = remote;
        this.failer = failer;
        this.readBuffer = new byte[bufferSize];
        this.idleness = newIdleTimeout(scheduler, () -> isOpen() && !completed.get());
        async.addListener(new Failures());
        in.setReadListener(new Reader());
        out.setWriteListener(new Writer());
    }

    // ---- addresses and state ----

    @Override
    public SocketAddress getLocalSocketAddress()
    {
        return local;
    }

    @Override
    public SocketAddress getRemoteSocketAddress()
    {
        return remote;
    }

    /** @return the exchange's async context: a POST tunnel's transport is the HTTP exchange */
    @Override
    public Object getTransport()
    {
        return async;
    }

    @Override
    public synchronized boolean isOpen()
    {
        return !closed;
    }

    @Override
    public synchronized boolean isInputShutdown()
    {
        return closed || inputEnded;
    }

    @Override
    public synchronized boolean isOutputShutdown()
    {
        return closed || shutdownRequested || failure != null;
    }

    // ---- reading ----

    @Override
    public int fill(ByteBuffer buffer) throws IOException
    {
        synchronized (this)
        {
            if (failure != null)
                throw asIOException(failure);
            if (inputEnded)
                return -1;
            if (closed)
                throw new EofException("closed");
        }
        int space = BufferUtil.space(buffer);
        if (space == 0 || !in.isReady())
            return 0;
        int read = in.read(readBuffer, 0, Math.min(space, readBuffer.length));
        if (read < 0)
        {
            synchronized (this)
            {
                inputEnded = true;
            }
            if (LOG.isDebugEnabled())
                LOG.debug("request body ended {}", this);
            completeIfBothEnded();
            return -1;
        }
        if (read > 0)
        {
            BufferUtil.append(buffer, readBuffer, 0, read);
            idleness.notIdle();
        }
        return read;
    }

    @Override
    public void fillInterested(Callback callback) throws ReadPendingException
    {
        if (!tryFillInterested(callback))
            throw new ReadPendingException();
    }

    @Override
    public boolean tryFillInterested(Callback callback)
    {
        boolean now;
        synchronized (this)
        {
            if (fillInterest != null)
                return false;
            fillInterest = callback;
            now = inputEnded || failure != null || closed;
        }
        // isReady() false asks the container for onDataAvailable (or onAllDataRead, onError).
        if (now || in.isReady())
            onFillable();
        return true;
    }

    @Override
    public synchronized boolean isFillInterested()
    {
        return fillInterest != null;
    }

    private void onFillable()
    {
        Callback interested;
        boolean failed;
        synchronized (this)
        {
            interested = fillInterest;
            fillInterest = null;
            // A closed endpoint has nothing more to read, not even a clean end.
            failed = closed && !inputEnded && failure == null;
        }
        if (interested == null)
            return;
        if (failed)
            interested.failed(new EofException("closed"));
        else
            interested.succeeded();
    }

    // ---- writing ----

    /** Content is never flushed synchronously: see {@link #write}. */
    @Override
    public boolean flush(ByteBuffer... buffers) throws IOException
    {
        if (BufferUtil.remaining(buffers) == 0)
            return true;
        synchronized (this)
        {
            if (failure != null)
                throw asIOException(failure);
            if (closed || shutdownRequested)
                throw new EofException("output shut down");
        }
        return false;
    }

    @Override
    public void write(Callback callback, ByteBuffer... buffers) throws WritePendingException
    {
        int length = Math.toIntExact(BufferUtil.remaining(buffers));
        Throwable refused = null;
        synchronized (this)
        {
            if (failure != null)
                refused = failure;
            else if (closed || shutdownRequested)
                refused = new EofException("output shut down");
            else if (writing)
                refused = new WritePendingException();
            else if (length > 0)
            {
                writing = true;
                if (writeBuffer.length < length)
                    writeBuffer = new byte[length];
                int offset = 0;
                for (ByteBuffer buffer : buffers)
                {
                    int remaining = BufferUtil.length(buffer);
                    if (remaining > 0)
                    {
                        buffer.get(writeBuffer, offset, remaining);
                        offset += remaining;
                    }
                }
                ops.add(new Op(Op.Kind.WRITE, length, callback));
            }
        }
        if (refused != null)
        {
            callback.failed(refused);
            return;
        }
        if (length == 0)
        {
            callback.succeeded();
            return;
        }
        idleness.notIdle();
        progress();
    }

    @Override
    public void shutdownOutput()
    {
        synchronized (this)
        {
            if (closed || shutdownRequested || failure != null)
                return;
            shutdownRequested = true;
            ops.add(new Op(Op.Kind.CLOSE, 0, null));
        }
        if (LOG.isDebugEnabled())
            LOG.debug("shutting output down {}", this);
        progress();
    }

    /** Refuses further writes, hands back the pending write's callback, and fails the exchange. */
    @Override
    public Callback cancelWrite(Throwable cause)
    {
        Callback cancelled = null;
        synchronized (this)
        {
            if (failure == null)
                failure = cause;
            for (Op op : ops)
            {
                if (op.kind == Op.Kind.WRITE)
                    cancelled = op.callback;
            }
            ops.clear();
            writing = false;
        }
        complete(cause);
        return cancelled;
    }

    /**
     * Sends the response head as it is set (status, headers), with no body yet: on HTTP/1.1
     * the body is then chunked, on HTTP/2 the stream stays open.
     *
     * @param onCommitted run once the head is out
     */
    void commit(Callback onCommitted)
    {
        Throwable refused = null;
        synchronized (this)
        {
            if (failure != null)
                refused = failure;
            else if (closed)
                refused = new EofException("closed");
            else
                ops.add(new Op(Op.Kind.COMMIT, 0, onCommitted));
        }
        if (refused != null)
            onCommitted.failed(refused);
        else
            progress();
    }

    /**
     * Answers a tunnel that will not be: writes {@code body} after the status and headers the
     * caller set, ends the response and completes the exchange, without reading the request
     * body (the container discards it, or closes the connection).
     */
    void answer(byte[] body)
    {
        synchronized (this)
        {
            answering = true;
        }
        write(Callback.NOOP, ByteBuffer.wrap(body));
        shutdownOutput();
    }

    /**
     * Runs the queued output operations in order, one container call per step, each after
     * {@code isReady()} returned true. Not reentrant: a call that comes while another runs
     * (a completion that writes again, {@code onWritePossible}) makes that one loop again.
     */
    private void progress()
    {
        synchronized (this)
        {
            if (progressing)
            {
                again = true;
                return;
            }
            progressing = true;
        }
        while (true)
        {
            Runnable completion;
            try
            {
                completion = step();
            }
            catch (Throwable x)
            {
                completion = () -> fail(x);
            }
            if (completion != null)
            {
                if (completion != STEPPED)
                    completion.run();
                continue;
            }
            synchronized (this)
            {
                if (!again)
                {
                    progressing = false;
                    return;
                }
                again = false;
            }
        }
    }

    /** @return what to run once the head operation completed, or null when there is nothing to do now */
    private Runnable step() throws IOException
    {
        Op op;
        synchronized (this)
        {
            op = ops.peek();
            if (op == null || failure != null)
                return null;
        }
        if (!out.isReady())
            return null;
        switch (op.kind)
        {
            case COMMIT ->
            {
                if (op.phase++ == 0)
                {
                    out.flush();
                    return STEPPED;
                }
            }
            case WRITE ->
            {
                switch (op.phase++)
                {
                    case 0 ->
                    {
                        out.write(writeBuffer, 0, op.length);
                        return STEPPED;
                    }
                    case 1 ->
                    {
                        out.flush();
                        return STEPPED;
                    }
                    default ->
                    {
                    }
                }
            }
            case CLOSE ->
            {
                if (op.phase++ == 0)
                {
                    out.close();
                    return STEPPED;
                }
            }
        }
        synchronized (this)
        {
            ops.poll();
            if (op.kind == Op.Kind.WRITE)
                writing = false;
            if (op.kind == Op.Kind.CLOSE)
                endWritten = true;
        }
        return switch (op.kind)
        {
            case COMMIT -> op.callback::succeeded;
            case WRITE -> () ->
            {
                idleness.notIdle();
                op.callback.succeeded();
            };
            case CLOSE -> this::onEndWritten;
        };
    }

    private void onEndWritten()
    {
        boolean answered;
        synchronized (this)
        {
            answered = answering;
        }
        if (LOG.isDebugEnabled())
            LOG.debug("response body ended {}", this);
        if (answered)
            complete(null);
        else
            completeIfBothEnded();
    }

    // ---- completion and closing ----

    private void completeIfBothEnded()
    {
        boolean both;
        synchronized (this)
        {
            both = inputEnded && endWritten;
        }
        if (both)
            complete(null);
    }

    /** Completes the exchange once: cleanly for a null failure, else abortively. */
    private void complete(Throwable cause)
    {
        if (!completed.compareAndSet(false, true))
            return;
        idleness.onClose();
        if (LOG.isDebugEnabled())
            LOG.debug("completing {}", this, cause);
        if (cause == null)
            async.complete();
        else
            failer.accept(cause);
    }

    /** An output operation or a listener failed: everything pending fails with it. */
    private void fail(Throwable cause)
    {
        if (LOG.isDebugEnabled())
            LOG.debug("failed {}", this, cause);
        List<Callback> failed = new ArrayList<>();
        synchronized (this)
        {
            if (failure == null)
                failure = cause;
            for (Op op : ops)
            {
                if (op.callback != null && op.callback != Callback.NOOP)
                    failed.add(op.callback);
            }
            ops.clear();
            writing = false;
        }
        // First the exchange: a clean close() may already have happened and now waits for the end.
        complete(cause);
        failed.forEach(c -> c.failed(cause));
        close(cause);
    }

    /**
     * Closes this endpoint. Without a cause this is clean if the input has ended and the output
     * was shut down (its end may still be in flight: the exchange then completes once it is
     * written); otherwise, and always with a cause, the exchange fails.
     */
    @Override
    public void close(Throwable cause)
    {
        boolean clean;
        synchronized (this)
        {
            if (closed)
                return;
            closed = true;
            clean = cause == null && inputEnded && shutdownRequested && failure == null;
        }
        if (LOG.isDebugEnabled())
            LOG.debug("closing {} clean={}", this, clean, cause);
        idleness.onClose();
        if (!clean)
            complete(cause != null ? cause : new EofException("closed before both directions ended"));
        Callback interested;
        synchronized (this)
        {
            interested = fillInterest;
            fillInterest = null;
        }
        if (interested != null)
            interested.failed(cause != null ? cause : new EofException("closed"));
        Connection c = getConnection();
        if (c != null)
            c.onClose(cause);
        onClose(cause);
    }

    /** Ends the exchange abortively, even when it was about to finish cleanly. */
    void abort(Throwable cause)
    {
        Throwable reason = cause != null ? cause : new EofException("aborted");
        complete(reason);
        close(reason);
    }

    private static IOException asIOException(Throwable cause)
    {
        return cause instanceof IOException io ? io : new IOException(cause);
    }

    // ---- idle timeout ----

    @Override
    public long getIdleTimeout()
    {
        return idleness.getIdleTimeout();
    }

    @Override
    public void setIdleTimeout(long idleTimeout)
    {
        idleness.setIdleTimeout(idleTimeout);
    }

    // ---- connection ----

    /** Arms the idle timeout. */
    @Override
    public void onOpen()
    {
        idleness.onOpen();
    }

    @Override
    public String toString()
    {
        String state;
        synchronized (this)
        {
            state = "in=%s,out=%s,ops=%d,closed=%b".formatted(failure != null ? "failed" : inputEnded ? "ended" : "open",
                endWritten ? "ended" : shutdownRequested ? "ending" : "open", ops.size(), closed);
        }
        return "ServletTunnelEndPoint@%x[%s,%s]".formatted(hashCode(), state, describe(getConnection()));
    }

    /** One queued output operation and how far it got. */
    private static final class Op
    {
        private enum Kind
        {
            COMMIT, WRITE, CLOSE
        }

        private final Kind kind;
        private final int length;
        private final Callback callback;
        private int phase;

        private Op(Kind kind, int length, Callback callback)
        {
            this.kind = kind;
            this.length = length;
            this.callback = callback;
        }
    }

    private final class Reader implements ReadListener
    {
        @Override
        public void onDataAvailable()
        {
            onFillable();
        }

        @Override
        public void onAllDataRead()
        {
            onFillable();
        }

        @Override
        public void onError(Throwable x)
        {
            fail(x);
        }
    }

    private final class Writer implements WriteListener
    {
        @Override
        public void onWritePossible()
        {
            progress();
        }

        @Override
        public void onError(Throwable x)
        {
            fail(x);
        }
    }

    /** The container's view of the exchange: an error while nothing is pending, a timeout. */
    private final class Failures implements AsyncListener
    {
        @Override
        public void onComplete(AsyncEvent event)
        {
            // Our own completion, or the container's after a failure: nothing left to do.
        }

        @Override
        public void onTimeout(AsyncEvent event)
        {
            fail(new TimeoutException("async timeout"));
        }

        @Override
        public void onError(AsyncEvent event)
        {
            Throwable x = event.getThrowable();
            fail(x != null ? x : new EofException("exchange failed"));
        }

        @Override
        public void onStartAsync(AsyncEvent event)
        {
        }
    }
}
