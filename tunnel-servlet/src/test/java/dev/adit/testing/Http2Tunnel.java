package dev.adit.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;

/**
 * A CONNECT tunnel as one HTTP/2 stream of an {@link Http2TunnelClient} session.
 *
 * <p><b>Reading and flow control.</b> {@code onDataAvailable} (Jetty's thread) copies each
 * DATA frame into a queue of chunks and releases the {@link Stream.Data} at once, which lets
 * Jetty return the credit. It demands more only while the queue holds less than
 * {@code min(1 MiB, stream window)} and reading is not paused; otherwise it stops and the
 * reader's thread demands again once the queue drained below the bound or
 * {@link #resumeReading()} is called. So a paused or slow reader stops granting credit after at
 * most one more frame, and the proxy can send at most the queue bound plus the stream window.
 *
 * <p><b>Ends.</b> END_STREAM → {@link #read} returns -1 after the queued bytes. RST_STREAM,
 * a stream failure or a stream idle timeout → {@link TunnelResetException} (with the HTTP/2
 * error code when known) after the queued bytes. Writes are DATA frames of at most 64 KiB,
 * each awaited with the write timeout.
 *
 * <p><b>A reset Jetty does not report.</b> Jetty 12.1.12's {@code HTTP2Stream.onReset} marks
 * the stream reset, closes it ({@link #onClosed}), and then tells the listener only if it is
 * the one to remove the stream from the session. A flusher pass on another thread (this
 * tunnel's writer, when a WINDOW_UPDATE just freed its stalled DATA) drops the stream's
 * pending frame and removes the stream in between: then {@link #onReset} never comes. So a
 * stream closed as reset that this side did not reset reads as reset, without an error code,
 * once {@link #LOST_RESET_GRACE} passed without {@link #onReset} (which otherwise follows
 * {@link #onClosed} at once), or when the reader's own timeout ends first; a write that fails on
 * a stream the peer reset waits as long for {@link #onReset}, which Jetty calls after it failed
 * the write.
 */
public final class Http2Tunnel implements Tunnel, Stream.Listener {
    static final int MAX_CHUNK = 64 * 1024;
    static final int MAX_QUEUE = 1024 * 1024;
    static final Duration LOST_RESET_GRACE = Duration.ofSeconds(1);

    private final Http2TunnelClient client;
    private final int queueBound;
    private final CompletableFuture<MetaData.Response> response = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Map<String, List<String>> headers = new LinkedHashMap<>();
    private volatile Stream stream;
    private byte[] body = new byte[0];

    // Guarded by 'this'.
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private int headOffset;
    private long queued;
    private boolean eof;
    private TunnelResetException failure;
    private boolean paused;
    private boolean stalled;
    private MetaData trailers;
    private boolean resetByUs;
    /** When Jetty closed the stream as reset, if it did and this side did not reset it; 0 otherwise. */
    private long closedAsResetAt;

    private Http2Tunnel(Http2TunnelClient client) {
        this.client = client;
        this.queueBound = Math.max(MAX_CHUNK, Math.min(MAX_QUEUE, client.streamWindow()));
    }

    static Http2Tunnel open(Http2TunnelClient client, MetaData.Request request, byte[] early, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Http2Tunnel tunnel = new Http2Tunnel(client);
        String what = "CONNECT " + request.getHttpURI() + " over " + client.transport();
        try {
            Stream s = client.session().newStream(new HeadersFrame(request, null, false), tunnel)
                .get(left(deadline), TimeUnit.NANOSECONDS);
            tunnel.stream = s;
            if (early != null && early.length > 0) {
                tunnel.write(early, Duration.ofNanos(left(deadline))); // before the response, on purpose
            }
            MetaData.Response r = tunnel.response.get(left(deadline), TimeUnit.NANOSECONDS);
            r.getHttpFields().forEach(f -> tunnel.headers.computeIfAbsent(f.getLowerCaseName(), k -> new ArrayList<>()).add(f.getValue()));
            if (!tunnel.established()) {
                tunnel.body = tunnel.readBody(deadline);
            }
            return tunnel;
        } catch (TimeoutException x) {
            tunnel.close();
            throw Http2TunnelClient.timeout(what, timeout);
        } catch (ExecutionException x) {
            tunnel.close();
            throw x.getCause() instanceof Exception e ? e : x;
        } catch (Exception | Error x) {
            tunnel.close();
            throw x;
        }
    }

    private static long left(long deadline) throws TimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException();
        }
        return left;
    }

    private byte[] readBody(long deadline) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        for (int r; (r = read(buf, Duration.ofNanos(left(deadline)))) >= 0; ) {
            if (out.size() + r > Http1Tunnel.MAX_BODY) {
                throw new IOException("response body larger than " + Http1Tunnel.MAX_BODY + " bytes");
            }
            out.write(buf, 0, r);
        }
        return out.toByteArray();
    }

    // ---- Stream.Listener (Jetty's threads) ----

    @Override
    public void onNewStream(Stream stream) {
        this.stream = stream;
    }

    @Override
    public void onHeaders(Stream stream, HeadersFrame frame) {
        MetaData metaData = frame.getMetaData();
        if (metaData instanceof MetaData.Response r && !response.isDone()) {
            if (r.getStatus() >= 100 && r.getStatus() < 200) {
                return; // interim response: the final one follows
            }
            response.complete(r);
        } else {
            synchronized (this) {
                trailers = metaData;
            }
        }
        if (frame.isEndStream()) {
            synchronized (this) {
                eof = true;
                notifyAll();
            }
        } else {
            stream.demand();
        }
    }

    @Override
    public void onDataAvailable(Stream stream) {
        while (true) {
            Stream.Data data = stream.readData();
            if (data == null) {
                stream.demand();
                return;
            }
            ByteBuffer buffer = data.frame().getByteBuffer();
            byte[] copy = new byte[buffer.remaining()];
            buffer.get(copy);
            boolean last = data.frame().isEndStream();
            data.release();
            boolean more;
            synchronized (this) {
                if (copy.length > 0) {
                    chunks.add(copy);
                    queued += copy.length;
                }
                eof |= last;
                notifyAll();
                if (last) {
                    return;
                }
                more = !paused && queued < queueBound;
                stalled = !more;
            }
            if (!more) {
                return; // the reader demands again, see demandIfStalled()
            }
        }
    }

    @Override
    public void onReset(Stream stream, ResetFrame frame, Callback callback) {
        fail(new TunnelResetException(client.transport() + " tunnel: RST_STREAM", frame.getError(), null));
        callback.succeeded();
    }

    @Override
    public void onFailure(Stream stream, int error, String reason, Throwable failure, Callback callback) {
        fail(new TunnelResetException(client.transport() + " tunnel: stream failure " + reason, error, failure));
        callback.succeeded();
    }

    @Override
    public void onIdleTimeout(Stream stream, TimeoutException x, Promise<Boolean> promise) {
        fail(new TunnelResetException(client.transport() + " tunnel: stream idle timeout", TunnelResetException.NO_CODE, x));
        promise.succeeded(true); // true: Jetty resets the stream
    }

    @Override
    public void onClosed(Stream stream) {
        if (stream.isReset()) {
            synchronized (this) {
                if (!resetByUs) {
                    closedAsResetAt = System.nanoTime() | 1;
                    notifyAll();
                }
            }
        }
        closed.complete(null);
    }

    private void fail(TunnelResetException x) {
        synchronized (this) {
            if (failure == null) {
                failure = x;
            }
            notifyAll();
        }
        response.completeExceptionally(x);
    }

    // ---- Tunnel ----

    @Override
    public Transport transport() {
        return client.transport();
    }

    @Override
    public int status() {
        return response.join().getStatus();
    }

    @Override
    public Map<String, List<String>> headers() {
        return Collections.unmodifiableMap(headers);
    }

    @Override
    public byte[] responseBody() {
        return body.clone();
    }

    /** The stream, for frame-level assertions. */
    public Stream stream() {
        return stream;
    }

    /** Completes when Jetty closed the stream (both directions ended, or reset). */
    public CompletableFuture<Void> closed() {
        return closed;
    }

    /** Trailers received before END_STREAM, or null. */
    public synchronized MetaData trailers() {
        return trailers;
    }

    /** The first failure (RST_STREAM etc.), or null. */
    public synchronized TunnelResetException failure() {
        return failure;
    }

    /** Bytes received and not yet read. */
    public synchronized long queuedBytes() {
        return queued;
    }

    @Override
    public int read(byte[] buf, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int n;
        synchronized (this) {
            while (chunks.isEmpty() && !eof && failure == null) {
                boolean closedAsReset = closedAsResetAt != 0;
                long until = closedAsReset ? Math.min(deadline, closedAsResetAt + LOST_RESET_GRACE.toNanos()) : deadline;
                long left = until - System.nanoTime();
                if (left <= 0) {
                    if (closedAsReset) {
                        failure = lostReset(); // the grace, or the caller's shorter timeout, is over
                        break;
                    }
                    throw new TimeoutException(transport() + " tunnel: no bytes within " + timeout);
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (chunks.isEmpty()) {
                if (failure != null) {
                    throw failure;
                }
                return -1;
            }
            byte[] head = chunks.peek();
            n = Math.min(buf.length, head.length - headOffset);
            System.arraycopy(head, headOffset, buf, 0, n);
            headOffset += n;
            if (headOffset == head.length) {
                chunks.poll();
                headOffset = 0;
            }
            queued -= n;
        }
        demandIfStalled();
        return n;
    }

    private void demandIfStalled() {
        boolean demand;
        synchronized (this) {
            demand = stalled && !paused && queued < queueBound && !eof && failure == null;
            if (demand) {
                stalled = false;
            }
        }
        if (demand) {
            stream.demand();
        }
    }

    @Override
    public void write(byte[] bytes, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] copy = bytes.clone(); // a timed-out frame stays queued: the caller may reuse its array
        for (int at = 0; at < copy.length; ) {
            int len = Math.min(MAX_CHUNK, copy.length - at);
            ByteBuffer chunk = ByteBuffer.wrap(copy, at, len);
            send(new DataFrame(stream.getId(), chunk, false), deadline, timeout, "write of " + bytes.length + " bytes");
            at += len;
        }
    }

    @Override
    public void shutdownOutput(Duration timeout) throws Exception {
        send(new DataFrame(stream.getId(), BufferUtil.EMPTY_BUFFER, true), System.nanoTime() + timeout.toNanos(), timeout, "END_STREAM");
    }

    private void send(DataFrame frame, long deadline, Duration timeout, String what) throws Exception {
        try {
            stream.data(frame).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException x) {
            throw Http2TunnelClient.timeout(transport() + " tunnel: " + what, timeout);
        } catch (ExecutionException x) {
            TunnelResetException reset = resetAfterFailedWrite();
            if (reset != null) {
                throw new TunnelResetException(reset.getMessage(), reset.errorCode(), x.getCause());
            }
            throw x.getCause() instanceof Exception e ? e : x;
        }
    }

    /**
     * A write failed: the reset that failed it, if the stream was reset by the peer. Jetty fails
     * the write before it tells the listener, so this waits for {@link #onReset} up to
     * {@link #LOST_RESET_GRACE}, and then reports the reset without its code.
     */
    private TunnelResetException resetAfterFailedWrite() throws InterruptedException {
        long deadline = System.nanoTime() + LOST_RESET_GRACE.toNanos();
        synchronized (this) {
            if (resetByUs || !stream.isReset()) {
                return failure;
            }
            for (long left; failure == null && (left = deadline - System.nanoTime()) > 0; ) {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return failure != null ? failure : lostReset();
        }
    }

    private TunnelResetException lostReset() {
        return new TunnelResetException(transport() + " tunnel: RST_STREAM (closed as reset, not reported by Jetty)", TunnelResetException.NO_CODE, null);
    }

    @Override
    public void pauseReading() {
        synchronized (this) {
            paused = true;
        }
    }

    @Override
    public void resumeReading() {
        synchronized (this) {
            paused = false;
        }
        demandIfStalled();
    }

    /** RST_STREAM(CANCEL), bounded to 5 s. */
    @Override
    public void reset() {
        reset(ErrorCode.CANCEL_STREAM_ERROR);
    }

    /** RST_STREAM with {@code error}, bounded to 5 s. */
    public void reset(ErrorCode error) {
        Stream s = stream;
        if (s == null || s.isReset()) {
            return;
        }
        synchronized (this) {
            resetByUs = true;
        }
        try {
            s.reset(new ResetFrame(s.getId(), error.code)).get(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // the stream or session is gone already
        }
    }

    @Override
    public void close() {
        Stream s = stream;
        if (s != null && !s.isClosed()) {
            reset();
        }
    }

    @Override
    public String toString() {
        Stream s = stream;
        return "Http2Tunnel[" + transport() + " stream " + (s == null ? "-" : s.getId()) + "]";
    }
}
