package dev.adit.embed;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The heartbeat keeps one task due within its period while it runs, and none once stopped. */
class SchedulerHeartbeatTest
{
    /** What was scheduled, in order: its delay and whether it was cancelled. */
    private record Scheduled(long delayMillis, AtomicBoolean cancelled)
    {
    }

    private final List<Scheduled> scheduled = new CopyOnWriteArrayList<>();
    private final CountDownLatch beats = new CountDownLatch(3);
    private final ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler()
    {
        @Override
        public Task schedule(Runnable task, long delay, TimeUnit unit)
        {
            Task real = super.schedule(task, delay, unit);
            AtomicBoolean cancelled = new AtomicBoolean();
            scheduled.add(new Scheduled(unit.toMillis(delay), cancelled));
            beats.countDown();
            return () ->
            {
                cancelled.set(true);
                return real.cancel();
            };
        }
    };

    @AfterEach
    void stop() throws Exception
    {
        scheduler.stop();
    }

    @Test
    void beatsEverySecondWhileRunningAndCancelsItsBeatAtStop() throws Exception
    {
        scheduler.start();
        SchedulerHeartbeat heartbeat = new SchedulerHeartbeat(scheduler);
        heartbeat.start();
        // The first beat is scheduled at start, each next one by the beat before it.
        assertThat(scheduled).hasSize(1);
        assertThat(beats.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(scheduled).allSatisfy(s -> assertThat(s.delayMillis()).isEqualTo(SchedulerHeartbeat.PERIOD_MILLIS));

        heartbeat.stop();

        Scheduled last = scheduled.get(scheduled.size() - 1);
        assertThat(last.cancelled()).isTrue();
    }
}
