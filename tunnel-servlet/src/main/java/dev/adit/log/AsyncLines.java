package dev.adit.log;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.eclipse.jetty.util.annotation.ManagedAttribute;
import org.eclipse.jetty.util.annotation.ManagedObject;
import org.eclipse.jetty.util.component.ContainerLifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes lines to a sink on a thread of its own, so that the threads that produce them (I/O
 * threads) do not wait for the sink (a logger writing to a pipe or a file). Nothing is ever
 * dropped and the order is kept:
 * <ul>
 *   <li>lines wait in a bounded queue and are written in the order they were queued, by the
 *       writer thread, in batches: it wakes when a line arrives after it went idle, then
 *       lingers briefly for more before sleeping, so a busy log costs a wake-up per batch
 *       rather than per line;</li>
 *   <li>when the queue is full, the producer writes queued lines itself (back-pressure) until
 *       its line fits: it is never discarded, and what it queued before is written first;</li>
 *   <li>before {@link #start()} and after {@link #stop()} lines are written on the caller's
 *       thread, after whatever is still queued; stopping writes every queued line before it
 *       returns.</li>
 * </ul>
 * Every write happens under one lock, taking lines from the head of the queue, so whichever
 * thread writes, lines come out in queue order; lines from one producer thread come out in the
 * order it gave them. A sink that throws loses that one line, reported at WARN with the line.
 *
 * <p>A line may reach the sink up to {@link #LINGER_MILLIS} ms after it was given, from the
 * writer thread: a logger's own prefix then shows that thread and that time.</p>
 */
@ManagedObject("Writes access-log lines on a thread of its own")
public final class AsyncLines extends ContainerLifeCycle implements Consumer<String>
{
    /** How long the writer waits for more lines after a batch before it sleeps until signalled. */
    static final long LINGER_MILLIS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(AsyncLines.class);

    private final Consumer<String> sink;
    private final String threadName;
    private final String[] ring;
    // Guards the queue: ring, head, count, running, idle; work is its condition.
    private final ReentrantLock queue = new ReentrantLock();
    private final Condition work = queue.newCondition();
    // Held by whoever takes lines from the queue and writes them: the queue order is the write order.
    private final ReentrantLock writing = new ReentrantLock();
    private int head;
    private int count;
    private boolean running;
    private boolean idle;
    private Thread writer;

    /**
     * @param sink       where the lines go, called by one thread at a time
     * @param capacity   how many lines may wait; beyond that producers write
     * @param threadName the writer thread's name
     */
    public AsyncLines(Consumer<String> sink, int capacity, String threadName)
    {
        this.sink = Objects.requireNonNull(sink);
        this.threadName = Objects.requireNonNull(threadName);
        if (capacity < 1)
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: > 0)");
        this.ring = new String[capacity];
    }

    @Override
    protected void doStart() throws Exception
    {
        queue.lock();
        try
        {
            running = true;
            idle = false;
        }
        finally
        {
            queue.unlock();
        }
        writer = new Thread(this::writeLoop, threadName);
        writer.setDaemon(true);
        writer.start();
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception
    {
        super.doStop();
        queue.lock();
        try
        {
            running = false;
            work.signalAll();
        }
        finally
        {
            queue.unlock();
        }
        // Written here, whatever the writer thread has not taken yet: nothing is left behind
        // when stop returns, even if the writer thread is slow to get a core.
        writing.lock();
        try
        {
            drain(Integer.MAX_VALUE);
        }
        finally
        {
            writing.unlock();
        }
        Thread thread = writer;
        writer = null;
        if (thread != null)
            thread.join(TimeUnit.SECONDS.toMillis(5));
    }

    /** Queues {@code line}, or writes it here when not started or when producers must help. */
    @Override
    public void accept(String line)
    {
        Objects.requireNonNull(line);
        while (true)
        {
            queue.lock();
            try
            {
                if (running && count < ring.length)
                {
                    ring[(head + count) % ring.length] = line;
                    count++;
                    // The writer lingers after each batch and comes back by itself; it is woken
                    // only from its idle sleep, or early when the queue is half full.
                    if (idle || count == (ring.length + 1) / 2)
                        work.signal();
                    return;
                }
                if (!running)
                    break;
            }
            finally
            {
                queue.unlock();
            }
            // Full: write a share of the queue here, then try again. Lines queued before this one
            // stay ahead of it.
            writing.lock();
            try
            {
                drain(Math.max(1, ring.length / 4));
            }
            finally
            {
                writing.unlock();
            }
        }
        // Not running: no line is queued any more, so what is there goes first, then this one.
        writing.lock();
        try
        {
            drain(Integer.MAX_VALUE);
            write(line);
        }
        finally
        {
            writing.unlock();
        }
    }

    private void writeLoop()
    {
        while (awaitWork())
        {
            writing.lock();
            try
            {
                drain(ring.length);
            }
            finally
            {
                writing.unlock();
            }
        }
    }

    /** @return true when there are lines to write, false when stopped with none left */
    private boolean awaitWork()
    {
        queue.lock();
        try
        {
            boolean lingered = false;
            while (count == 0 && running)
            {
                try
                {
                    if (!lingered)
                    {
                        work.await(LINGER_MILLIS, TimeUnit.MILLISECONDS);
                        lingered = true;
                    }
                    else
                    {
                        idle = true;
                        work.await();
                    }
                }
                catch (InterruptedException x)
                {
                    // Only stop() ends this thread, and it signals; an interrupt is a spurious wake-up.
                }
                finally
                {
                    idle = false;
                }
            }
            return count > 0;
        }
        finally
        {
            queue.unlock();
        }
    }

    /** Takes up to {@code max} lines from the head of the queue and writes them; the caller holds {@link #writing}. */
    private void drain(int max)
    {
        for (int i = 0; i < max; i++)
        {
            String line;
            queue.lock();
            try
            {
                if (count == 0)
                    return;
                line = ring[head];
                ring[head] = null;
                head = (head + 1) % ring.length;
                count--;
            }
            finally
            {
                queue.unlock();
            }
            write(line);
        }
    }

    private void write(String line)
    {
        try
        {
            sink.accept(line);
        }
        catch (RuntimeException x)
        {
            LOG.warn("access-log line not written: {}", line, x);
        }
    }

    @ManagedAttribute("Lines waiting to be written")
    public int getQueued()
    {
        queue.lock();
        try
        {
            return count;
        }
        finally
        {
            queue.unlock();
        }
    }

    /** @return whether the writer thread sleeps until the next line signals it (tests) */
    boolean isIdle()
    {
        queue.lock();
        try
        {
            return idle;
        }
        finally
        {
            queue.unlock();
        }
    }

    @ManagedAttribute("How many lines may wait")
    public int getCapacity()
    {
        return ring.length;
    }

    @Override
    public String toString()
    {
        return "AsyncLines@%x[%s, %d/%d queued]".formatted(hashCode(), getState(), getQueued(), ring.length);
    }
}
