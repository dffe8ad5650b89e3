package dev.adit.handler;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.HTTP2Session;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.FrameType;
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
 * <p>Nor must the frames that cross a reset on the wire. Jetty counts each DATA and
 * WINDOW_UPDATE frame that arrives for a stream already closed ({@code HTTP2Session.onData},
 * {@code onWindowUpdate}). A client uploading through a tunnel that is reset has up to a stream
 * window of DATA in flight: some hundreds of frames with the default 8 MiB window, which ended
 * the connection with "invalid_data_frame_rate", for CONNECT tunnels (Adit's resets) and POST
 * tunnels (Jetty's RST_STREAM(CANCEL) for the failed exchange) alike. So each RST_STREAM the
 * server writes, whoever asked for it, grants the connection an allowance: a stream receive
 * window of DATA bytes (what the client may have sent before it sees the reset; a frame costs
 * its flow-controlled length, at least 1), and {@value #WINDOW_UPDATES_PER_RESET} WINDOW_UPDATE
 * frames. A {@link HTTP2Session.FrameListener} on the factory's sessions tells the connection's
 * rate control as the frame is written, before the stream is forgotten. Frames for closed
 * streams draw on the allowance and are not counted while it lasts; past it, they are counted
 * as before. The allowance is kept per connection, not per stream, and is capped at the session
 * receive window of DATA (all the client can have in flight) and {@value #MAX_WINDOW_UPDATES}
 * WINDOW_UPDATEs: what goes uncounted is never more than the client could send on open streams,
 * where DATA is not rate controlled at all. Empty DATA frames without END_STREAM and zero
 * WINDOW_UPDATEs, which Jetty's parser counts on every stream, stay counted.</p>
 *
 * <p>Adit's own frames are told apart by class, which a peer cannot forge: the parser makes
 * plain {@link ResetFrame}s.</p>
 */
public final class Http2TunnelResets
{
    /** WINDOW_UPDATE frames for closed streams one of Adit's resets leaves uncounted. */
    static final int WINDOW_UPDATES_PER_RESET = 32;
    /** At most this many are left uncounted at any time. */
    static final int MAX_WINDOW_UPDATES = 4096;
    /** The event {@link ResetsWritten} hands the connection's rate control for each RST_STREAM written. */
    static final Object RESET_WRITTEN = new Object()
    {
        @Override
        public String toString()
        {
            return "RST_STREAM written";
        }
    };

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
     * frames in flight to the streams reset, as the class says, and hand every other event to
     * the wrapped one; and adds the listener that reports the resets written to the sessions
     * {@code h2} makes from now on. The receive windows are read from {@code h2} as each
     * connection opens. Does nothing if {@code h2}'s factory is Adit's already.
     */
    public static void install(AbstractHTTP2ServerConnectionFactory h2)
    {
        RateControl.Factory current = h2.getRateControlFactory();
        if (current instanceof NotCounting)
            return;
        h2.setRateControlFactory(new NotCounting(Objects.requireNonNull(current), h2));
        if (!h2.getEventListeners().contains(ResetsWritten.INSTANCE))
            h2.addEventListener(ResetsWritten.INSTANCE);
    }

    /** Tells a session's rate control of each RST_STREAM as it is written. */
    private static final class ResetsWritten implements HTTP2Session.FrameListener
    {
        private static final ResetsWritten INSTANCE = new ResetsWritten();

        @Override
        public void onOutgoingFrame(Session session, Frame frame)
        {
            if (frame.getType() == FrameType.RST_STREAM && session instanceof HTTP2Session http2)
                http2.getParser().rateControlOnEvent(RESET_WRITTEN);
        }

        @Override
        public String toString()
        {
            return "Adit's allowance for the frames in flight to reset streams";
        }
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

    /** One connection's rate control; resets come from any thread, frames from the parser's. */
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
            if (event == RESET_WRITTEN)
            {
                bytes.getAndUpdate(left -> Math.min(maxBytes, left + bytesPerReset));
                windowUpdates.getAndUpdate(left -> Math.min(MAX_WINDOW_UPDATES, left + WINDOW_UPDATES_PER_RESET));
                return true;
            }
            if (event instanceof TunnelResetFrame)
                return true;
            // Only DATA for a closed stream gets here, and empty DATA without END_STREAM on any stream.
            if (event instanceof DataFrame data && (data.remaining() > 0 || data.isEndStream())
                && draw(bytes, Math.max(1, data.flowControlLength())))
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
