package dev.adit.bench;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
    /** Counted down by the first failure: a window waits on it, so a failed load ends it early. */
    private final CountDownLatch failed = new CountDownLatch(1);
    private final List<Closeable> resources = new CopyOnWriteArrayList<>();
    final LongAdder errors = new LongAdder();

    boolean stopped() {
        return stopped;
    }

    void fail(Throwable x) {
        if (!stopped && failure.compareAndSet(null, x)) {
            failed.countDown();
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

    /**
     * @param aditCpu Adit's CPU time so far in nanoseconds, negative when there is none (the direct path)
     * @return the counter's increase over the window, after the warm-up, and Adit's CPU time
     */
    Window measure(LongSupplier counter, LongSupplier aditCpu, Duration warmUp, Duration window) throws Exception {
        failed.await(warmUp.toNanos(), TimeUnit.NANOSECONDS);
        checkFailure();
        long cpu0 = aditCpu.getAsLong();
        long c0 = counter.getAsLong();
        long t0 = System.nanoTime();
        failed.await(window.toNanos(), TimeUnit.NANOSECONDS);
        long c1 = counter.getAsLong();
        long t1 = System.nanoTime();
        long cpu1 = aditCpu.getAsLong();
        checkFailure();
        return new Window(c1 - c0, (t1 - t0) / 1e9, cpu0 < 0 || cpu1 < 0 ? Double.NaN : (cpu1 - cpu0) / 1e9);
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
