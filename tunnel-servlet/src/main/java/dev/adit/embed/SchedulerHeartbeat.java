package dev.adit.embed;

import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A no-op task the server's scheduler runs every second while Adit runs, so that the head of
 * the scheduler's queue is never more than a second away.
 *
 * <p>Why: Jetty's scheduler is a {@code ScheduledThreadPoolExecutor}, which wakes its thread
 * whenever a newly scheduled task becomes the head of its queue. Every tunnel schedules timers
 * that are nearly always cancelled: the connect timeout (10 s by default), the sockets' idle
 * timeouts. Most of the time no other connect is pending, so the new connect timeout became
 * the head and woke the scheduler thread for nothing, about once every two or three tunnels
 * set up (a context switch each, on two cores). Behind a task due within the second, a timer of
 * more than a second never becomes the head: the scheduler wakes once a second instead.</p>
 */
final class SchedulerHeartbeat extends AbstractLifeCycle
{
    static final long PERIOD_MILLIS = 1000;

    private final Scheduler scheduler;
    private volatile Scheduler.Task next;

    SchedulerHeartbeat(Scheduler scheduler)
    {
        this.scheduler = Objects.requireNonNull(scheduler);
    }

    @Override
    protected void doStart() throws Exception
    {
        beat();
    }

    @Override
    protected void doStop() throws Exception
    {
        Scheduler.Task task = next;
        if (task != null)
            task.cancel();
    }

    private void beat()
    {
        if (!isRunning())
            return;
        try
        {
            Scheduler.Task task = scheduler.schedule(this::beat, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            next = task;
            // A stop that came meanwhile cancelled the task before this one.
            if (!isRunning())
                task.cancel();
        }
        catch (RejectedExecutionException x)
        {
            // The scheduler stopped first: nothing left to keep awake.
        }
    }

    @Override
    public String toString()
    {
        return "SchedulerHeartbeat[" + scheduler + "]";
    }
}
