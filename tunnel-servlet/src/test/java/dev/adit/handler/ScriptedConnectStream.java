package dev.adit.handler;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.adit.testing.Payloads;
import org.eclipse.jetty.http.HostPortHttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.eclipse.jetty.util.Promise;

/**
 * One plain CONNECT stream (or POST tunnel) on a Jetty {@link Session}, driven entirely by Jetty's callbacks so
 * that a stress test can keep thousands in flight without a thread each (as the bench and real
 * clients do). Once the 200 arrives it sends {@code size} pseudo-random bytes (from
 * {@code seed}) in DATA writes of {@code chunk} bytes, each after the previous completed, then
 * END_STREAM; it reads and digests whatever comes back, releasing each frame at once, and
 * {@link #done()} completes when the proxy's END_STREAM has arrived after its own went out.
 * A non-200, RST_STREAM, stream failure or idle timeout fails it with the HTTP/2 error code in
 * the message.
 *
 * <p>{@link #toString()} tells how far it got, for the failure message of a stalled stream.</p>
 */
final class ScriptedConnectStream implements Stream.Listener
{
    /** What a finished stream sent and received. */
    record Result(long sent, String sentSha256, long received, String receivedSha256)
    {
    }

    private final long size;
    private final int chunk;
    private final SplittableRandom random;
    private final Payloads.Sha256 sentDigest = new Payloads.Sha256();
    private final Payloads.Sha256 receivedDigest = new Payloads.Sha256();
    private final CompletableFuture<Result> done = new CompletableFuture<>();
    private final CompletableFuture<Void> established = new CompletableFuture<>();
    private volatile Session session;
    private volatile Stream stream;
    private volatile int status;
    private volatile long sent;
    private volatile long received;
    private volatile boolean endSent;
    private volatile boolean endReceived;

    ScriptedConnectStream(long size, int chunk, long seed)
    {
        this.size = size;
        this.chunk = chunk;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Fails {@link #done()} with how far it got unless done within {@code timeout} from now, and
     * then resets the stream, so that the proxy ends its tunnel (and logs what it moved).
     */
    ScriptedConnectStream within(Duration timeout)
    {
        long start = System.nanoTime();
        CompletableFuture.delayedExecutor(timeout.toMillis(), TimeUnit.MILLISECONDS).execute(() ->
        {
            if (!done.isDone())
            {
                fail(new TimeoutException("not done within " + timeout + " (started " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms ago)"));
                cancel();
            }
        });
        return this;
    }

    /** Sends the CONNECT for {@code authority}; the rest happens on Jetty's threads. */
    ScriptedConnectStream open(Session session, String authority)
    {
        return open(session, new MetaData.ConnectRequest((String)null, new HostPortHttpField(authority), null, HttpFields.EMPTY, null));
    }

    /** Sends {@code request} (a CONNECT, or a POST for a POST tunnel) without END_STREAM; the rest happens on Jetty's threads. */
    ScriptedConnectStream open(Session session, MetaData.Request request)
    {
        this.session = session;
        session.newStream(new HeadersFrame(request, null, false), Promise.from(s -> stream = s, this::fail), this);
        return this;
    }

    /** Completes when both END_STREAMs have passed; fails on any abortive end. */
    CompletableFuture<Result> done()
    {
        return done;
    }

    /** Completes when the 200 arrived. */
    CompletableFuture<Void> established()
    {
        return established;
    }

    Stream stream()
    {
        return stream;
    }

    /** What this client alone could send: the digest of the first {@code size} bytes of {@code seed}'s stream. */
    static String sha256Of(long size, int chunk, long seed)
    {
        SplittableRandom random = new SplittableRandom(seed);
        Payloads.Sha256 sha = new Payloads.Sha256();
        for (long left = size; left > 0; )
        {
            byte[] bytes = new byte[(int)Math.min(chunk, left)];
            random.nextBytes(bytes);
            sha.update(bytes);
            left -= bytes.length;
        }
        return sha.hex();
    }

    @Override
    public void onHeaders(Stream stream, HeadersFrame frame)
    {
        this.stream = stream;
        if (frame.getMetaData() instanceof MetaData.Response response)
        {
            status = response.getStatus();
            if (status != 200)
            {
                fail(new IllegalStateException("CONNECT answered " + status));
                return;
            }
            established.complete(null);
            new Writer().iterate();
        }
        if (frame.isEndStream())
            onEnd();
        else
            stream.demand();
    }

    @Override
    public void onDataAvailable(Stream stream)
    {
        while (true)
        {
            Stream.Data data = stream.readData();
            if (data == null)
            {
                stream.demand();
                return;
            }
            ByteBuffer bytes = data.frame().getByteBuffer();
            int n = bytes.remaining();
            if (n > 0)
            {
                byte[] copy = new byte[n];
                bytes.get(copy);
                synchronized (receivedDigest)
                {
                    receivedDigest.update(copy);
                }
                received += n;
            }
            boolean last = data.frame().isEndStream();
            data.release();
            if (last)
            {
                onEnd();
                return;
            }
        }
    }

    private void onEnd()
    {
        endReceived = true;
        completeIfDone();
    }

    private void completeIfDone()
    {
        synchronized (receivedDigest)
        {
            // Both ends may see both flags; a digest can be taken once.
            if (endSent && endReceived && !done.isDone())
                done.complete(new Result(sent, sentDigest.hex(), received, receivedDigest.hex()));
        }
    }

    @Override
    public void onReset(Stream stream, ResetFrame frame, Callback callback)
    {
        fail(new IllegalStateException("RST_STREAM " + ErrorCode.from(frame.getError()) + " (" + frame.getError() + ")"));
        callback.succeeded();
    }

    @Override
    public void onFailure(Stream stream, int error, String reason, Throwable failure, Callback callback)
    {
        fail(new IllegalStateException("stream failure " + ErrorCode.from(error) + " " + reason, failure));
        callback.succeeded();
    }

    @Override
    public void onIdleTimeout(Stream stream, TimeoutException x, Promise<Boolean> promise)
    {
        fail(x);
        promise.succeeded(true);
    }

    private void fail(Throwable x)
    {
        established.completeExceptionally(x);
        done.completeExceptionally(new IllegalStateException(this + ": " + x.getMessage(), x));
    }

    /** Resets the stream with CANCEL (a client giving up on it). */
    void cancel()
    {
        Stream s = stream;
        if (s != null && !s.isReset())
            s.reset(new ResetFrame(s.getId(), ErrorCode.CANCEL_STREAM_ERROR.code), Callback.NOOP);
    }

    @Override
    public String toString()
    {
        Session h2 = session;
        if (h2 == null)
            return "not opened (no connection yet)";
        Stream s = stream;
        return "stream %s from %s: status %d, sent %d/%d%s, received %d%s".formatted(s == null ? "-" : "#" + s.getId(), h2.getLocalSocketAddress(),
            status, sent, size, endSent ? " + END_STREAM" : "", received, endReceived ? " + END_STREAM" : "");
    }

    /** DATA writes one after the other, then END_STREAM. */
    private final class Writer extends IteratingCallback
    {
        @Override
        protected Action process()
        {
            if (endSent)
                return Action.SUCCEEDED;
            Stream s = stream;
            if (sent == size)
            {
                s.data(new DataFrame(s.getId(), BufferUtil.EMPTY_BUFFER, true), Callback.from(() ->
                {
                    endSent = true;
                    succeeded();
                    completeIfDone();
                }, this::failed));
                return Action.SCHEDULED;
            }
            byte[] bytes = new byte[(int)Math.min(chunk, size - sent)];
            random.nextBytes(bytes);
            sentDigest.update(bytes);
            sent += bytes.length;
            s.data(new DataFrame(s.getId(), ByteBuffer.wrap(bytes), false), this);
            return Action.SCHEDULED;
        }

        @Override
        protected void onCompleteFailure(Throwable cause)
        {
            fail(cause);
        }

        @Override
        public InvocationType getInvocationType()
        {
            return InvocationType.NON_BLOCKING;
        }
    }
}
