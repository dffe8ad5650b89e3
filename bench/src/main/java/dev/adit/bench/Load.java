package dev.adit.bench;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The life of one measurement: the load runs, a warm-up passes unmeasured, a counter is read
 * at the start and the end of the window, then the load is told to stop and what it opened is
 * closed. The first failure that happens before the stop fails the measurement; errors a
 * workload tolerates (a refused setup, say) are counted in {@link #errors}.
 */
final class Load {
    private volatile boolean stopped;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Closeable> resources = new CopyOnWriteArrayList<>();
    final LongAdder errors = new LongAdder();

    boolean stopped() {
        return stopped;
    }

    void fail(Throwable x) {
        if (!stopped) {
            failure.compareAndSet(null, x);
        }
    }

    void register(Closeable resource) {
        resources.add(resource);
    }

    void checkFailure() throws Exception {
        Throwable x = failure.get();
        if (x != null) {
            throw new Exception("load failed: " + x, x);
        }
    }

    /** @return the counter's increase per second over the window, after the warm-up */
    double measure(LongSupplier counter, Duration warmUp, Duration window) throws Exception {
        Thread.sleep(warmUp.toMillis());
        checkFailure();
        long c0 = counter.getAsLong();
        long t0 = System.nanoTime();
        Thread.sleep(window.toMillis());
        long c1 = counter.getAsLong();
        long t1 = System.nanoTime();
        checkFailure();
        return (c1 - c0) * 1e9 / (t1 - t0);
    }

    /** Stops the load and closes every registered resource. */
    void stop() {
        stopped = true;
        for (Closeable resource : resources) {
            try {
                resource.close();
            } catch (IOException | RuntimeException ignored) {
                // closing anyway
            }
        }
    }
}
