package dev.adit.handler;

import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.io.RateControl;
import org.eclipse.jetty.io.WindowRateControl;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class Http2TunnelResetsTest
{
    private static final int LIMIT = 10;

    @Test
    void aditsOwnTunnelResetsPassEvenPastTheLimit()
    {
        RateControl rateControl = Http2TunnelResets.notCounting(new WindowRateControl.Factory(LIMIT)).newRateControl(null);
        for (int i = 0; i < LIMIT * 100; i++)
            assertThat(rateControl.onEvent(Http2TunnelResets.connectError(2 * i + 1))).isTrue();
        // ...and cost the budget nothing: a peer's frames still get all of it.
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.CANCEL_STREAM_ERROR.code))).isTrue();
    }

    @Test
    void everyOtherEventIsStillCounted()
    {
        RateControl rateControl = Http2TunnelResets.notCounting(new WindowRateControl.Factory(LIMIT)).newRateControl(null);
        for (int i = 0; i < LIMIT; i++)
            assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.HTTP_CONNECT_ERROR.code))).isTrue();
        // A peer's RST_STREAM(CONNECT_ERROR) is not Adit's, whatever its code says.
        assertThat(rateControl.onEvent(new ResetFrame(1, ErrorCode.HTTP_CONNECT_ERROR.code))).isFalse();
    }

    @Test
    void wrappingTwiceWrapsOnce()
    {
        RateControl.Factory once = Http2TunnelResets.notCounting(new WindowRateControl.Factory(LIMIT));
        assertThat(Http2TunnelResets.notCounting(once)).isSameAs(once);
    }
}
