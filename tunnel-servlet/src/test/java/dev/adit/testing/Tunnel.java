package dev.adit.testing;

import java.io.EOFException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One CONNECT tunnel as the downstream client sees it, in blocking style with bounded waits.
 *
 * <p>Obtained from {@link TunnelClient#open}; the response head has been received by then.
 * For a non-2xx status the response body has been read too ({@link #responseBody()}) and the
 * tunnel carries no bytes. Reads and writes may run on different threads; two concurrent
 * readers (or writers) are not supported.
 *
 * <p>Ends of a tunnel: {@link #read} returns -1 on a clean end (FIN / END_STREAM) and throws
 * {@link TunnelResetException} on an abortive one (TCP reset / RST_STREAM / stream failure).
 * Timeouts throw {@link TimeoutException}.
 */
public interface Tunnel extends AutoCloseable {
    /** Default bound for {@link #write(byte[])} and {@link #shutdownOutput()}. */
    Duration WRITE_TIMEOUT = Duration.ofSeconds(30);

    /** What {@link #readToEnd} read: byte count and lower-case hex SHA-256. */
    record ReadResult(long count, String sha256) {
    }

    Transport transport();

    /** The response status. */
    int status();

    /** True for a 2xx status: the tunnel is established. */
    default boolean established() {
        return status() / 100 == 2;
    }

    /** Response headers, lower-case names, values in arrival order. */
    Map<String, List<String>> headers();

    /** First value of a response header (name in any case), or null. */
    default String header(String name) {
        List<String> values = headers().get(name.toLowerCase(java.util.Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** For a non-2xx status, the response body (read fully, at most 1 MiB); empty for 2xx. */
    byte[] responseBody();

    /** Writes all of {@code bytes} within {@link #WRITE_TIMEOUT}. */
    default void write(byte[] bytes) throws Exception {
        write(bytes, WRITE_TIMEOUT);
    }

    /**
     * Writes all of {@code bytes}, waiting at most {@code timeout} (flow control and socket
     * buffers make it wait). On {@link TimeoutException} the write is still pending and later
     * writes queue behind it, so the byte order is kept.
     */
    void write(byte[] bytes, Duration timeout) throws Exception;

    /**
     * Half-closes the client-to-target direction after pending writes: h1 {@code shutdownOutput()}
     * (on TLS: a TLS close_notify, see {@code Http1Tunnel}); h2 an empty DATA with END_STREAM.
     */
    default void shutdownOutput() throws Exception {
        shutdownOutput(WRITE_TIMEOUT);
    }

    void shutdownOutput(Duration timeout) throws Exception;

    /**
     * Reads up to {@code buf.length} bytes, waiting at most {@code timeout} for the first one.
     *
     * @return bytes read (&gt; 0), or -1 at EOF / END_STREAM
     * @throws TunnelResetException on a TCP reset, RST_STREAM or stream failure
     * @throws TimeoutException when nothing arrived in time
     */
    int read(byte[] buf, Duration timeout) throws Exception;

    /** Reads exactly {@code n} bytes within {@code timeout} overall; {@link EOFException} if the tunnel ends first. */
    default byte[] readExactly(int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] out = new byte[n];
        byte[] buf = new byte[Math.min(n, 64 * 1024)];
        int at = 0;
        while (at < n) {
            if (n - at < buf.length) {
                buf = new byte[n - at]; // never read past n: the rest belongs to the caller's next read
            }
            int r = read(buf, remaining(deadline, at, timeout));
            if (r < 0) {
                throw new EOFException("EOF after " + at + " of " + n + " bytes");
            }
            System.arraycopy(buf, 0, out, at, r);
            at += r;
        }
        return out;
    }

    /** Reads until EOF within {@code timeout} overall, digesting on the fly. */
    default ReadResult readToEnd(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Payloads.Sha256 sha = new Payloads.Sha256();
        byte[] buf = new byte[64 * 1024];
        for (int r; (r = read(buf, remaining(deadline, sha.count(), timeout))) >= 0; ) {
            sha.update(buf, 0, r);
        }
        return new ReadResult(sha.count(), sha.hex());
    }

    /**
     * Sends {@code bytes} and half-closes on a thread of its own while waiting for this tunnel's
     * reset: for a target that never reads nor answers, whose tunnel only an abort on Adit's side
     * (its idle timeout) can end. The write and the half-close are each bounded by
     * {@code timeout}, and the send must end within it after the reset, done or failed by it (a
     * large payload's write may still wait for flow control or socket room then). Over TCP the
     * reset may reach the sending thread instead of the reading one.
     *
     * @throws AssertionError when the tunnel gives data or a clean end instead of a reset
     * @throws TimeoutException when the reset or the end of the send does not come in time
     */
    default void sendEndAndAwaitReset(byte[] bytes, Duration timeout) throws Exception {
        CompletableFuture<Void> sent = new CompletableFuture<>();
        Thread sender = new Thread(() -> {
            try {
                write(bytes, timeout);
                shutdownOutput(timeout);
                sent.complete(null);
            } catch (Throwable x) {
                sent.completeExceptionally(x);
            }
        }, "tunnel-sender");
        sender.setDaemon(true);
        sender.start();
        try {
            boolean resetOnRead = false;
            try {
                int read = read(new byte[16], timeout);
                if (read >= 0) {
                    throw new AssertionError("expected a reset, got " + read + " bytes");
                }
            } catch (TunnelResetException expected) {
                resetOnRead = true;
            }
            Throwable sendFailure = null;
            try {
                sent.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException x) {
                // The write or the half-close was still pending when the tunnel was reset.
                sendFailure = x.getCause();
            }
            // A TCP reset is reported once, to whichever of the reader and the writer meets it
            // first; the other then sees the end of the stream.
            if (!resetOnRead && !(sendFailure instanceof TunnelResetException)) {
                throw new AssertionError("expected a reset, got a clean end" + (sendFailure == null ? "" : " and " + sendFailure), sendFailure);
            }
        } finally {
            // Whatever failed above, no sender outlives the call.
            sender.interrupt();
            sender.join(timeout.toMillis());
        }
    }

    /** Stop reading: h2 stops granting flow-control credit (no more demand); h1 does nothing (just do not call read). */
    void pauseReading();

    /** Undo {@link #pauseReading()}. */
    void resumeReading();

    /** Abortive close: h1 close with {@code SO_LINGER 0} (TCP RST); h2 RST_STREAM(CANCEL). */
    void reset();

    /** Releases the tunnel: h1 closes the socket; h2 sends RST_STREAM(CANCEL) unless the stream is already closed. */
    @Override
    void close();

    private static Duration remaining(long deadline, long progress, Duration total) throws TimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException("tunnel read: not done within " + total + " (" + progress + " bytes so far)");
        }
        return Duration.ofNanos(left);
    }
}
