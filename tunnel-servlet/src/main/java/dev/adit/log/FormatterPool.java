package dev.adit.log;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * {@link LineFormatter}s lent to one thread at a time: a few slots, each empty or holding an
 * idle formatter, taken and given back with a compare-and-set. A thread starts looking at a
 * slot of its own (by thread id), so threads seldom meet on one slot. When every slot is empty
 * (more threads logging at once than slots) a new formatter is made, and dropped on return if
 * there is no room for it.
 *
 * <p>Owned by one {@link AccessLog} rather than kept in {@link ThreadLocal}s: formatters go away
 * with their log, and a webapp's classes are never pinned to the server's threads.</p>
 */
final class FormatterPool
{
    private final AtomicReferenceArray<LineFormatter> slots;

    /** @param size how many idle formatters are kept at most */
    FormatterPool(int size)
    {
        if (size < 1)
            throw new IllegalArgumentException("size: " + size + " (expected: > 0)");
        slots = new AtomicReferenceArray<>(size);
    }

    /** Two slots per processor: more threads than that format at once only in bursts. */
    FormatterPool()
    {
        this(2 * Runtime.getRuntime().availableProcessors());
    }

    /** @return a formatter the caller has to itself until {@link #release}, or drops after a failure */
    LineFormatter acquire()
    {
        int size = slots.length();
        int first = home(size);
        for (int i = 0; i < size; i++)
        {
            int slot = (first + i) % size;
            LineFormatter formatter = slots.get(slot);
            if (formatter != null && slots.compareAndSet(slot, formatter, null))
                return formatter;
        }
        return new LineFormatter();
    }

    /** @param formatter one that {@link #acquire} gave and that finished its line normally */
    void release(LineFormatter formatter)
    {
        int size = slots.length();
        int first = home(size);
        for (int i = 0; i < size; i++)
        {
            int slot = (first + i) % size;
            if (slots.get(slot) == null && slots.compareAndSet(slot, null, formatter))
                return;
        }
    }

    /** @return how many formatters are idle in the pool (tests) */
    int idle()
    {
        int idle = 0;
        for (int i = 0; i < slots.length(); i++)
        {
            if (slots.get(i) != null)
                idle++;
        }
        return idle;
    }

    private static int home(int size)
    {
        return (int)((Thread.currentThread().getId() & Integer.MAX_VALUE) % size);
    }
}
