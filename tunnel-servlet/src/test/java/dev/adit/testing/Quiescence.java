package dev.adit.testing;

import java.time.Duration;
import java.util.function.IntSupplier;

import org.eclipse.jetty.io.ArrayByteBufferPool;

import static org.assertj.core.api.Assertions.fail;

/**
 * The check every component test ends with: every tunnel has closed and every pooled buffer is
 * back. Closing is asynchronous, so it waits (bounded) for the listener to report a change.
 */
public final class Quiescence
{
    /** Waits at most {@code millis} for the next tunnel event. */
    @FunctionalInterface
    public interface ChangeAwaiter
    {
        void awaitChange(long millis) throws InterruptedException;
    }

    private Quiescence()
    {
    }

    public static void assertNoOpenTunnelsNorLeaks(ArrayByteBufferPool.Tracking pool, IntSupplier openTunnels, ChangeAwaiter events, Duration timeout)
        throws InterruptedException
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true)
        {
            var leaks = pool.getLeaks();
            int open = openTunnels.getAsInt();
            if (open == 0 && leaks.isEmpty())
                return;
            if (System.nanoTime() > deadline)
            {
                StringBuilder dump = new StringBuilder();
                leaks.forEach(b -> dump.append(b.dump()).append('\n'));
                fail(open + " tunnels still open, " + leaks.size() + " leaked buffers:\n" + dump);
            }
            events.awaitChange(50);
        }
    }
}
