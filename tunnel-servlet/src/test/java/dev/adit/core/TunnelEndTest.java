package dev.adit.core;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import dev.adit.config.TunnelConfig;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ByteArrayEndPoint;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * However a tunnel ends, and whatever its endpoints do meanwhile, it is reported exactly once,
 * in order (opened before closed), and ends only the sides that are its own. In memory, with
 * endpoints that misbehave on purpose.
 */
class TunnelEndTest
{
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final TunnelListener recorder = new TunnelListener()
    {
        @Override
        public void onOpened(TunnelInfo tunnel)
        {
            events.add("opened");
        }

        @Override
        public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
        {
            events.add("closed " + outcome);
        }

        @Override
        public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
        {
            events.add("refused " + failure + " " + tunnel.responseCode());
        }
    };
    private final ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler();
    private final ArrayByteBufferPool.Tracking pool = new ArrayByteBufferPool.Tracking();
    private final Tunnel tunnel = new Tunnel("example.com:443", "HTTP/2", TunnelConfig.DEFAULTS, pool, scheduler, recorder);

    @BeforeEach
    void start() throws Exception
    {
        scheduler.start();
    }

    @AfterEach
    void stop() throws Exception
    {
        scheduler.stop();
        assertThat(pool.getLeaks()).isEmpty();
    }

    /** An in-memory endpoint that counts its closes, and can fail them or act when the tunnel starts. */
    private final class Side extends ByteArrayEndPoint
    {
        final AtomicInteger closes = new AtomicInteger();
        volatile RuntimeException closeFailure;
        volatile Runnable onStart;

        Side()
        {
            super(scheduler, 0);
        }

        @Override
        public void onClose(Throwable cause)
        {
            super.onClose(cause);
            closes.incrementAndGet();
            RuntimeException failure = closeFailure;
            if (failure != null)
                throw failure;
        }

        @Override
        public void setIdleTimeout(long idleTimeout)
        {
            super.setIdleTimeout(idleTimeout);
            // The tunnel sets its idle timeout as it starts, before it reports the opening.
            Runnable action = onStart;
            if (action != null)
                action.run();
        }
    }

    private static void open(Side side, Connection connection)
    {
        side.setConnection(connection);
        connection.onOpen();
    }

    @Test
    void aSideThatHasNotOpenedIsLeftToItsOpenerAndAbortedWhenItOpens()
    {
        Side up = new Side();
        Side down = new Side();
        // As Jetty's HTTP/2 stream endpoint does when closed before a connection is installed.
        down.closeFailure = new NullPointerException("no connection installed");
        open(up, tunnel.newUpstreamConnection(up, Runnable::run, (endPoint, cause) -> endPoint.close(cause)));
        Connection downstream = tunnel.newDownstreamConnection(down, Runnable::run, (endPoint, cause) -> endPoint.close(cause));

        assertThat(tunnel.refuse(TunnelFailure.DOWNSTREAM_RESET, 0, new IOException("the 200 could not be sent"))).isTrue();
        assertThat(events).containsExactly("refused DOWNSTREAM_RESET 0");
        assertThat(up.closes).as("the target's side, opened").hasValue(1);
        assertThat(down.closes).as("the client's side, still Jetty's").hasValue(0);

        down.closeFailure = null;
        open(down, downstream);
        assertThat(down.closes).as("the client's side, opened late").hasValue(1);
        assertThat(events).containsExactly("refused DOWNSTREAM_RESET 0");
    }

    @Test
    void aSideThatFailsToCloseDoesNotKeepTheTunnelFromEndingAndBeingReported()
    {
        Side up = new Side();
        Side down = new Side();
        open(up, tunnel.newUpstreamConnection(up, Runnable::run, (endPoint, cause) -> endPoint.close(cause)));
        open(down, tunnel.newDownstreamConnection(down, Runnable::run, (endPoint, cause) -> endPoint.close(cause)));
        down.closeFailure = new IllegalStateException("endpoint bug");

        tunnel.abort(TunnelFailure.SHUTDOWN, new IOException("stopping"));
        assertThat(events).containsExactly("opened", "closed SHUTDOWN");
        assertThat(up.closes).hasValue(1);
        assertThat(down.closes).hasValue(1);
        assertThat(tunnel.isOpen()).isFalse();
    }

    @Test
    void anAbortWhileTheTunnelStartsIsReportedAfterTheOpening()
    {
        Side up = new Side();
        Side down = new Side();
        down.onStart = () -> tunnel.abort(TunnelFailure.SHUTDOWN, new IOException("stopping as the tunnel starts"));
        open(up, tunnel.newUpstreamConnection(up, Runnable::run, (endPoint, cause) -> endPoint.close(cause)));
        open(down, tunnel.newDownstreamConnection(down, Runnable::run, (endPoint, cause) -> endPoint.close(cause)));

        assertThat(events).containsExactly("opened", "closed SHUTDOWN");
        assertThat(up.closes).hasValue(1);
        assertThat(down.closes).hasValue(1);
        assertThat(tunnel.isOpen()).isFalse();
    }
}
