package dev.adit.handler;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.RateControl;
import org.eclipse.jetty.io.WindowRateControl;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.util.BufferUtil;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThat;

class Http2TunnelResetsTest
{
    private static final int LIMIT = 10;
    private static final int STREAM_WINDOW = 64 * 1024;
    private static final int SESSION_WINDOW = 4 * STREAM_WINDOW;
    private static final int FRAME = 16 * 1024;

    private static HTTP2CServerConnectionFactory factory()
    {
        HTTP2CServerConnectionFactory h2 = new HTTP2CServerConnectionFactory(new HttpConfiguration());
        h2.setRateControlFactory(new WindowRateControl.Factory(LIMIT));
        h2.setInitialStreamRecvWindow(STREAM_WINDOW);
        h2.setInitialSessionRecvWindow(SESSION_WINDOW);
        Http2TunnelResets.install(h2);
        return h2;
    }

    private static RateControl rateControl()
    {
        return factory().getRateControlFactory().newRateControl(null);
    }

    private static DataFrame data(int streamId, int length, boolean last)
    {
        return new DataFrame(streamId, ByteBuffer.allocate(length), last);
    }

    @Test
    void aditsOwnTunnelResetsPassEvenPastTheLimit()
    {
        RateControl rateControl = rateControl();
        for (int i = 0; i < LIMIT * 100; i++)
            assertThat(rateControl.onEvent(Http2TunnelResets.connectError(2 * i + 1))).isTrue();
        // ...and cost the budget nothing: a peer's frames still get all of it.
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.CANCEL_STREAM_ERROR.code))).isTrue();
    }

    @Test
    void everyOtherEventIsStillCounted()
    {
        RateControl rateControl = rateControl();
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.HTTP_CONNECT_ERROR.code))).isTrue();
        // A peer's RST_STREAM(CONNECT_ERROR) is not Adit's, whatever its code says.
        assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.HTTP_CONNECT_ERROR.code))).isFalse();
    }

    @Test
    void aResetLeavesAStreamWindowOfDataInFlightUncounted()
    {
        RateControl rateControl = rateControl();
        rateControl.onEvent(Http2TunnelResets.connectError(1));
        // A stream window of full frames, then the END_STREAM the client had queued: none counted.
        for (int i = 0; i < STREAM_WINDOW / FRAME; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).as("frame %d", i).isTrue();
        // The allowance is spent: from here on frames are counted, LIMIT of them pass.
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).isTrue();
        assertThat(rateControl.onEvent(data(1, FRAME, false))).isFalse();
    }

    @Test
    void theAllowanceIsCappedAtTheSessionWindow()
    {
        RateControl rateControl = rateControl();
        // Many quiet tunnels reset: what they leave is at most what the client can have in flight.
        for (int i = 0; i < 100; i++)
            rateControl.onEvent(Http2TunnelResets.connectError(2 * i + 1));
        for (int i = 0; i < SESSION_WINDOW / FRAME + LIMIT; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).as("frame %d", i).isTrue();
        assertThat(rateControl.onEvent(data(1, FRAME, false))).isFalse();
    }

    @Test
    void emptyDataAndZeroWindowUpdatesStayCounted()
    {
        RateControl rateControl = rateControl();
        rateControl.onEvent(Http2TunnelResets.connectError(1));
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(new DataFrame(1, BufferUtil.EMPTY_BUFFER, false))).isTrue();
        assertThat(rateControl.onEvent(new DataFrame(1, BufferUtil.EMPTY_BUFFER, false))).isFalse();
        assertThat(rateControl.onEvent(new WindowUpdateFrame(1, 0))).isFalse();
        // An empty END_STREAM is what a client sends last; it costs a byte of the allowance.
        assertThat(rateControl.onEvent(new DataFrame(1, BufferUtil.EMPTY_BUFFER, true))).isTrue();
    }

    @Test
    void aResetLeavesSomeWindowUpdatesUncounted()
    {
        RateControl rateControl = rateControl();
        rateControl.onEvent(Http2TunnelResets.connectError(1));
        for (int i = 0; i < Http2TunnelResets.WINDOW_UPDATES_PER_RESET + LIMIT; i++)
            assertThat(rateControl.onEvent(new WindowUpdateFrame(1, FRAME))).as("update %d", i).isTrue();
        assertThat(rateControl.onEvent(new WindowUpdateFrame(1, FRAME))).isFalse();
    }

    @Test
    void smallFramesCostAtLeastAKibibyte()
    {
        // One reset lets through at most a window / MIN_FRAME_COST frames, however small.
        RateControl rateControl = rateControl();
        rateControl.onEvent(Http2TunnelResets.cancel(1));
        for (int i = 0; i < STREAM_WINDOW / Http2TunnelResets.MIN_FRAME_COST + LIMIT; i++)
            assertThat(rateControl.onEvent(data(1, 1, false))).as("frame %d", i).isTrue();
        assertThat(rateControl.onEvent(data(1, 1, false))).isFalse();
    }

    @Test
    void jettysOwnResetsGrantNothing()
    {
        RateControl rateControl = rateControl();
        assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.REFUSED_STREAM_ERROR.code))).isTrue();
        for (int i = 0; i < LIMIT - 1; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).isTrue();
        assertThat(rateControl.onEvent(data(1, FRAME, false))).isFalse();
    }

    @Test
    void withoutResetsClosedStreamFramesAreCounted()
    {
        RateControl rateControl = rateControl();
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).isTrue();
        assertThat(rateControl.onEvent(data(1, FRAME, false))).isFalse();
    }

    @Test
    void installingTwiceWrapsOnce()
    {
        HTTP2CServerConnectionFactory h2 = factory();
        RateControl.Factory once = h2.getRateControlFactory();
        Http2TunnelResets.install(h2);
        assertThat(h2.getRateControlFactory()).isSameAs(once);
    }

    @Test
    void theWindowsAreReadAsEachConnectionOpens()
    {
        HTTP2CServerConnectionFactory h2 = factory();
        h2.setInitialStreamRecvWindow(2 * STREAM_WINDOW);
        RateControl rateControl = h2.getRateControlFactory().newRateControl(null);
        rateControl.onEvent(Http2TunnelResets.connectError(1));
        for (int i = 0; i < 2 * STREAM_WINDOW / FRAME + LIMIT; i++)
            assertThat(rateControl.onEvent(data(1, FRAME, false))).as("frame %d", i).isTrue();
        assertThat(rateControl.onEvent(data(1, FRAME, false))).isFalse();
    }
}
