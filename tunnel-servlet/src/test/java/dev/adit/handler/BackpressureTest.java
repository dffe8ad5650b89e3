package dev.adit.handler;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

import dev.adit.testing.Http2Tunnel;
import dev.adit.testing.TcpTarget;
import dev.adit.testing.Transport;
import dev.adit.testing.Tunnel;
import dev.adit.testing.TunnelClient;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that stops reading while the target streams 256 MiB: the proxy reads from the
 * target only after its previous write to the client completed, so what it holds stays
 * bounded (one buffer per direction plus the HTTP/2 window), the target stalls, and when the
 * client reads again every byte arrives.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BackpressureTest
{
    private static final long STREAMED = 256L << 20;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static AditFixture adit;

    @BeforeAll
    static void start() throws Exception
    {
        adit = AditFixture.start();
    }

    @AfterAll
    static void stop() throws Exception
    {
        adit.close();
    }

    @ParameterizedTest(name = "over {0}, a slow reader keeps the proxy's buffered bytes bounded")
    @EnumSource(Transport.class)
    void aSlowReaderStallsTheTargetWithoutTheProxyBuffering(Transport transport) throws Exception
    {
        long seed = System.nanoTime();
        try (TcpTarget target = new TcpTarget(TcpTarget.stream(STREAMED, seed));
             TunnelClient client = TunnelClient.connect(transport, adit.address(transport)))
        {
            Tunnel tunnel = client.open(target.authority(), WAIT);
            tunnel.pauseReading();
            tunnel.shutdownOutput();

            long stalledAt = awaitStable(target::bytesWritten);
            long heldByProxy = outstandingPoolBytes(adit.pool);

            // Everything in flight is in kernel socket buffers (a few MiB each on loopback),
            // the HTTP/2 stream window and the client's queue: far from the 256 MiB sent.
            assertThat(stalledAt).as("bytes the target could write while nobody read").isLessThan(64L << 20);
            // The proxy holds at most one buffer per direction plus Jetty's per-connection buffers.
            assertThat(heldByProxy).as("pooled bytes held by the proxy").isLessThanOrEqualTo(1L << 20);
            if (tunnel instanceof Http2Tunnel h2)
                assertThat(h2.queuedBytes()).as("client queue, bounded by its flow-control window").isLessThanOrEqualTo(8L << 20);

            tunnel.resumeReading();
            Tunnel.ReadResult all = tunnel.readToEnd(WAIT);
            assertThat(all.count()).isEqualTo(STREAMED);
            assertThat(all.sha256()).isEqualTo(TcpTarget.sha256OfStream(STREAMED, seed));
        }
        adit.assertQuiescentWithoutLeaks();
    }

    private static long outstandingPoolBytes(ArrayByteBufferPool.Tracking pool)
    {
        return pool.getLeaks().stream().mapToLong(ArrayByteBufferPool.Tracking.TrackedBuffer::getSize).sum();
    }

    /**
     * Waits until the value stops moving for 500 ms (bounded by 60 s). There is no event to
     * wait for here: a stalled writer is the absence of progress.
     */
    private static long awaitStable(LongSupplier value)
    {
        long deadline = System.nanoTime() + WAIT.toNanos();
        long last = value.getAsLong();
        long stableSince = System.nanoTime();
        while (System.nanoTime() < deadline)
        {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            long now = value.getAsLong();
            if (now != last)
            {
                last = now;
                stableSince = System.nanoTime();
            }
            else if (System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(500))
            {
                return now;
            }
        }
        throw new AssertionError("the target never stalled: " + last + " bytes written");
    }
}
