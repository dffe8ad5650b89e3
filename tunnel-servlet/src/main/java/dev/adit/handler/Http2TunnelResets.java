package dev.adit.handler;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.RateControl;

/**
 * The RST_STREAM frames Adit sends when it ends an HTTP/2 tunnel abortively (the target reset
 * or failed, an idle timeout, the maximum duration): CONNECT_ERROR for CONNECT tunnels (RFC 9113
 * §8.5), CANCEL for POST tunnels (as Jetty for a failed exchange); and the
 * HTTP/2 rate control that does not count them, nor what the client still had in flight to the
 * streams they reset, against the client's connection.
 *
 * <p>Why: Jetty 12.1 counts every RST_STREAM a server <em>sends</em> as a rate-controlled event
 * of the connection, as it does those it receives ({@code HTTP2Session.reset}; 128 a second by
 * default), and past the limit ends the connection with GOAWAY(ENHANCE_YOUR_CALM). That defends
 * a request/response server from clients that provoke resets with bad frames while the work
 * behind the reset streams goes on. A tunnel is different: when Adit resets its stream the
 * target's connection is closed at the same moment, so nothing outlives the stream, and what
 * made Adit reset was the target, not the client's frames. Counted, a client whose targets
 * reset (a backend restarting under a few hundred tunnels of one connection) lost every other
 * tunnel of that connection with the GOAWAY. The frames a client sends, and every other reset
 * Jetty itself sends, are still counted: a client resetting its own streams in a flood still
 * gets its GOAWAY.</p>
 *
 * <p>Nor must the frames that cross Adit's reset on the wire. Jetty counts each DATA and
 * WINDOW_UPDATE frame that arrives for a stream already closed ({@code HTTP2Session.onData},
 * {@code onWindowUpdate}). A client uploading through a tunnel that Adit resets has up to a
 * stream window of DATA in flight: some hundreds of frames with the default 8 MiB window, which
 * ended the connection with "invalid_data_frame_rate". So each of Adit's resets grants the
 * connection an allowance: a stream receive window of DATA (what the client may have sent before
 * it sees the reset), and {@value #WINDOW_UPDATES_PER_RESET} WINDOW_UPDATE frames. Frames for
 * closed streams draw on it and are not counted while it lasts; past it, they are counted as
 * before. A DATA frame costs its flow-controlled length but at least {@value #MIN_FRAME_COST}
 * bytes, so that one reset lets at most a window / {@value #MIN_FRAME_COST} frames through
 * (8,192 with the default window), whatever their size: counting frames on closed streams is
 * Jetty's defence against floods of small frames, and an empty END_STREAM costs nothing in flow
 * control. The allowance is kept per connection, not per stream, and is capped at the session
 * receive window and {@value #MAX_WINDOW_UPDATES} WINDOW_UPDATEs. Only Adit's own resets grant
 * it, not the resets Jetty sends for a client's protocol errors or refused streams, which a
 * client could provoke at will. Empty DATA frames without END_STREAM and zero WINDOW_UPDATEs,
 * which Jetty's parser counts on every stream, stay counted.</p>
 *
 * <p>Adit's own frames are told apart by class, which a peer cannot forge: the parser makes
 * plain {@link ResetFrame}s. By the class's name, not by {@code instanceof}: in a WAR the
 * webapp's copy of Adit sends the frames, and the server's copy (the Jetty module's) counts
 * them.</p>
 */
public final class Http2TunnelResets
{
    /** WINDOW_UPDATE frames for closed streams one of Adit's resets leaves uncounted. */
    static final int WINDOW_UPDATES_PER_RESET = 32;
    /** At most this many are left uncounted at any time. */
    static final int MAX_WINDOW_UPDATES = 4096;
    /** What a DATA frame on a closed stream costs of the allowance at least, in bytes. */
    static final int MIN_FRAME_COST = 1024;
    private static final String TUNNEL_RESET_FRAME = TunnelResetFrame.class.getName();

    private Http2TunnelResets()
    {
    }

    /** A RST_STREAM(CONNECT_ERROR) for a CONNECT tunnel, which {@link #install}'s rate control lets through. */
    static ResetFrame connectError(int streamId)
    {
        return new TunnelResetFrame(streamId, ErrorCode.HTTP_CONNECT_ERROR);
    }

    /** A RST_STREAM(CANCEL) for a POST tunnel (Jetty's code for a failed exchange), let through likewise. */
    static ResetFrame cancel(int streamId)
    {
        return new TunnelResetFrame(streamId, ErrorCode.CANCEL_STREAM_ERROR);
    }

    /**
     * Wraps {@code h2}'s rate control factory (Jetty's {@code WindowRateControl.Factory(128)} by
     * default, or an operator's) so that its rate controls pass Adit's tunnel resets and the
     * frames in flight to the streams they reset, as the class says, and hand every other event
     * to the wrapped one. The receive windows are read from {@code h2} as each connection opens.
     * Does nothing if {@code h2}'s factory is Adit's already.
     */
    public static void install(AbstractHTTP2ServerConnectionFactory h2)
    {
        RateControl.Factory current = h2.getRateControlFactory();
        if (!(current instanceof NotCounting))
            h2.setRateControlFactory(new NotCounting(Objects.requireNonNull(current), h2));
    }

    /** @return whether {@code event} is one of Adit's resets, from this class loader's copy of Adit or another's */
    private static boolean isAdits(Object event)
    {
        return event instanceof ResetFrame && event.getClass().getName().equals(TUNNEL_RESET_FRAME);
    }

    private static final class TunnelResetFrame extends ResetFrame
    {
        private TunnelResetFrame(int streamId, ErrorCode error)
        {
            super(streamId, error.code);
        }
    }

    private record NotCounting(RateControl.Factory counting, AbstractHTTP2ServerConnectionFactory h2) implements RateControl.Factory
    {
        @Override
        public RateControl newRateControl(EndPoint endPoint)
        {
            int streamWindow = h2.getInitialStreamRecvWindow();
            return new Allowance(counting.newRateControl(endPoint), streamWindow, Math.max(streamWindow, h2.getInitialSessionRecvWindow()));
        }
    }

    /** One connection's rate control; Adit's resets come from any thread, frames from the parser's. */
    private static final class Allowance implements RateControl
    {
        private final RateControl counting;
        private final int bytesPerReset;
        private final int maxBytes;
        private final AtomicLong bytes = new AtomicLong();
        private final AtomicLong windowUpdates = new AtomicLong();

        private Allowance(RateControl counting, int bytesPerReset, int maxBytes)
        {
            this.counting = counting;
            this.bytesPerReset = bytesPerReset;
            this.maxBytes = maxBytes;
        }

        @Override
        public boolean onEvent(Object event)
        {
            // Sent before the stream is forgotten (HTTP2Session.reset), so before its frames count.
            if (isAdits(event))
            {
                bytes.getAndUpdate(left -> Math.min(maxBytes, left + bytesPerReset));
                windowUpdates.getAndUpdate(left -> Math.min(MAX_WINDOW_UPDATES, left + WINDOW_UPDATES_PER_RESET));
                return true;
            }
            // Only DATA for a closed stream gets here, and empty DATA without END_STREAM on any stream.
            if (event instanceof DataFrame data && (data.remaining() > 0 || data.isEndStream())
                && draw(bytes, Math.max(MIN_FRAME_COST, data.flowControlLength())))
                return true;
            // Only WINDOW_UPDATE for a closed stream gets here, and zero ones on any stream.
            if (event instanceof WindowUpdateFrame update && update.getWindowDelta() > 0 && draw(windowUpdates, 1))
                return true;
            return counting.onEvent(event);
        }

        private static boolean draw(AtomicLong allowance, long cost)
        {
            long left = allowance.get();
            while (left >= cost)
            {
                if (allowance.compareAndSet(left, left - cost))
                    return true;
                left = allowance.get();
            }
            return false;
        }
    }
}
