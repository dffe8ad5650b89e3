package dev.adit.embed;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** The heartbeat keeps one task due within its period while it runs, and none once stopped. */
class SchedulerHeartbeatTest
{
    /** A task handed to a scheduler: its delay, whether it ran (to its end) and whether it was cancelled. */
    private record Scheduled(Runnable task, long delayMillis, AtomicBoolean ran, AtomicBoolean cancelled)
    {
        boolean settled()
        {
            return ran.get() || cancelled.get();
        }
    }

    /** Never started: it only records what it is given, and the test runs the tasks itself. */
    private static final class ManualScheduler extends ScheduledExecutorScheduler
    {
        private final List<Scheduled> scheduled = new ArrayList<>();
        private Consumer<Scheduled> onSchedule = s -> {};

        @Override
        public Task schedule(Runnable task, long delay, TimeUnit unit)
        {
            Scheduled s = new Scheduled(task, unit.toMillis(delay), new AtomicBoolean(), new AtomicBoolean());
            scheduled.add(s);
            onSchedule.accept(s);
            return () -> !s.cancelled().getAndSet(true);
        }

        Scheduled runLast()
        {
            Scheduled last = scheduled.get(scheduled.size() - 1);
            last.ran().set(true);
            last.task().run();
            return last;
        }
    }

    private final List<Scheduled> scheduled = new CopyOnWriteArrayList<>();
    private final CountDownLatch beats = new CountDownLatch(3);
    private final ScheduledExecutorScheduler realScheduler = new ScheduledExecutorScheduler()
    {
        @Override
        public Task schedule(Runnable task, long delay, TimeUnit unit)
        {
            Scheduled s = new Scheduled(task, unit.toMillis(delay), new AtomicBoolean(), new AtomicBoolean());
            // Ran only once the beat has returned: by then the task it scheduled is listed.
            Task real = super.schedule(() ->
            {
                task.run();
                s.ran().set(true);
            }, delay, unit);
            scheduled.add(s);
            beats.countDown();
            return () ->
            {
                s.cancelled().set(true);
                return real.cancel();
            };
        }
    };

    @AfterEach
    void stop() throws Exception
    {
        realScheduler.stop();
    }

    @Test
    void eachBeatSchedulesTheNextAndStopCancelsThePendingOne() throws Exception
    {
        ManualScheduler scheduler = new ManualScheduler();
        SchedulerHeartbeat heartbeat = new SchedulerHeartbeat(scheduler);
        heartbeat.start();
        // The first beat is scheduled at start, each next one by the beat before it.
        assertThat(scheduler.scheduled).hasSize(1);
        scheduler.runLast();
        scheduler.runLast();
        assertThat(scheduler.scheduled).hasSize(3)
            .allSatisfy(s -> assertThat(s.delayMillis()).isEqualTo(SchedulerHeartbeat.PERIOD_MILLIS));

        heartbeat.stop();

        assertThat(scheduler.scheduled).hasSize(3).allSatisfy(s -> assertThat(s.settled()).isTrue());
        assertThat(scheduler.scheduled.get(2).cancelled()).isTrue();
        // A beat that was already due when the stop came schedules nothing more.
        scheduler.scheduled.get(2).task().run();
        assertThat(scheduler.scheduled).hasSize(3);
    }

    @Test
    void aStopThatComesWhileABeatSchedulesCancelsTheBeatsNewTask() throws Exception
    {
        ManualScheduler scheduler = new ManualScheduler();
        SchedulerHeartbeat heartbeat = new SchedulerHeartbeat(scheduler);
        heartbeat.start();
        // The stop lands after the scheduler took the second beat's task and before the beat kept it.
        scheduler.onSchedule = s ->
        {
            try
            {
                heartbeat.stop();
            }
            catch (Exception x)
            {
                throw new AssertionError(x);
            }
        };

        Scheduled first = scheduler.runLast();

        assertThat(heartbeat.isStopped()).isTrue();
        assertThat(first.ran()).isTrue();
        assertThat(scheduler.scheduled).hasSize(2);
        assertThat(scheduler.scheduled.get(1).cancelled()).isTrue();
    }

    @Test
    void beatsEverySecondOnJettysSchedulerAndLeavesNothingPendingAfterStop() throws Exception
    {
        realScheduler.start();
        SchedulerHeartbeat heartbeat = new SchedulerHeartbeat(realScheduler);
        heartbeat.start();
        assertThat(beats.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(scheduled).allSatisfy(s -> assertThat(s.delayMillis()).isEqualTo(SchedulerHeartbeat.PERIOD_MILLIS));

        heartbeat.stop();

        // The beat that scheduled last may still be on the scheduler's thread, between handing
        // its task over and keeping it: it cancels its own task when it sees the stop.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!scheduled.stream().allMatch(Scheduled::settled))
        {
            if (System.nanoTime() - deadline > 0)
                fail("a beat left pending after stop: " + scheduled);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        assertThat(scheduled.get(scheduled.size() - 1).cancelled()).isTrue();
    }
}
