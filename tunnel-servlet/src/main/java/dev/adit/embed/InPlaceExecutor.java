package dev.adit.embed;

import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * The executor of Adit's own connectors: the server's thread pool, without the reserved threads
 * Jetty's execution strategies try first ({@link org.eclipse.jetty.util.thread.TryExecutor}).
 *
 * <p>With a reserved thread at hand, Jetty's selector hands selecting over to it for every
 * task that may block or not ({@code EITHER}, such as an HTTP/2 connection's read) and runs
 * the task itself: one thread wake-up per DATA frame. A tunnel's stream never blocks, so
 * here the task runs in place on the selector thread ({@code PRODUCE_INVOKE_CONSUME}), and only
 * tasks that may block (a request to a handler that can block) go to the pool.</p>
 */
final class InPlaceExecutor implements Executor
{
    private final Executor pool;

    InPlaceExecutor(Executor pool)
    {
        this.pool = Objects.requireNonNull(pool);
    }

    @Override
    public void execute(Runnable task)
    {
        pool.execute(task);
    }

    @Override
    public String toString()
    {
        return "InPlaceExecutor[" + pool + "]";
    }
}
