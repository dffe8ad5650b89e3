package dev.adit.handler;

import java.util.Objects;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.RateControl;

/**
 * The RST_STREAM(CONNECT_ERROR) frames Adit sends when it ends an HTTP/2 tunnel abortively (the
 * target reset or failed, an idle timeout, the maximum duration, RFC 9113 §8.5), and the
 * HTTP/2 rate control that does not count them against the client's connection.
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
 * <p>Adit's own frames are told apart by class, which a peer cannot forge: the parser makes
 * plain {@link ResetFrame}s.</p>
 */
public final class Http2TunnelResets
{
    private Http2TunnelResets()
    {
    }

    /** A RST_STREAM(CONNECT_ERROR) that {@link #notCounting} lets through. */
    static ResetFrame connectError(int streamId)
    {
        return new TunnelResetFrame(streamId);
    }

    /**
     * @param rateControl the factory the connection factory had (Jetty's
     *                    {@code WindowRateControl.Factory(128)} by default, or an operator's)
     * @return a factory whose rate controls pass Adit's tunnel resets and hand every other event
     * to {@code rateControl}'s; {@code rateControl} itself if it is one already
     */
    public static RateControl.Factory notCounting(RateControl.Factory rateControl)
    {
        Objects.requireNonNull(rateControl);
        if (rateControl instanceof NotCounting)
            return rateControl;
        return new NotCounting(rateControl);
    }

    private static final class TunnelResetFrame extends ResetFrame
    {
        private TunnelResetFrame(int streamId)
        {
            super(streamId, ErrorCode.HTTP_CONNECT_ERROR.code);
        }
    }

    private record NotCounting(RateControl.Factory counting) implements RateControl.Factory
    {
        @Override
        public RateControl newRateControl(EndPoint endPoint)
        {
            RateControl rateControl = counting.newRateControl(endPoint);
            return event -> event instanceof TunnelResetFrame || rateControl.onEvent(event);
        }
    }
}
