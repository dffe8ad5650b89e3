package dev.adit.embed;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;

import org.eclipse.jetty.io.ManagedSelector;

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
    private static final Set<String> ENDPOINT_CREATIONS = Set.of("Accept", "CreateEndPoint");

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

    /**
     * Whether {@code task} is one of the tasks Jetty's selector hands to the pool to create the
     * endpoint and connection of a socket it has just accepted or connected
     * ({@code ManagedSelector.Accept}, {@code ManagedSelector.CreateEndPoint}). They are run on
     * the selector thread that produced them when the connections are Adit's own, which never
     * block while opening: that saves a thread wake-up per accepted and per connected socket,
     * the largest part of a tunnel's set-up cost after Jetty's parsing. Both catch whatever
     * they throw. Matched by name: a Jetty that renames them is served by the pool as before
     * ({@code InPlaceExecutorTest} notices).
     */
    static boolean createsEndPoint(Runnable task)
    {
        return createsEndPoint(task.getClass());
    }

    static boolean createsEndPoint(Class<?> type)
    {
        return type.getEnclosingClass() == ManagedSelector.class && ENDPOINT_CREATIONS.contains(type.getSimpleName());
    }

    @Override
    public String toString()
    {
        return "InPlaceExecutor[" + pool + "]";
    }
}
