package dev.adit.upstream;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.fail;

/**
 * Polls a condition until it holds or a deadline passes, checking every few milliseconds.
 * For states that have no event to wait on (a connection count, a buffer pool's leak list).
 */
final class Await
{
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private Await()
    {
    }

    /** Fails with {@code what} and the last {@code state} if {@code condition} does not hold within {@code timeout}. */
    static void until(String what, Duration timeout, BooleanSupplier condition, Supplier<Object> state)
    {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() - deadline > 0)
                fail(what + " not reached within " + timeout + "; state: " + state.get());
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }

    /** Fails as soon as {@code condition} stops holding during {@code duration}. */
    static void holds(String what, Duration duration, BooleanSupplier condition, Supplier<Object> state)
    {
        long end = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() - end < 0)
        {
            if (!condition.getAsBoolean())
                fail(what + " stopped holding; state: " + state.get());
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }
}
