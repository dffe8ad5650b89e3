package dev.adit.embed;

import java.util.Objects;
import java.util.concurrent.Executor;

import dev.adit.core.ResetAwareEndPoint;
import org.eclipse.jetty.io.ManagedSelector;

/**
 * The executor of Adit's own connectors (its listeners, its upstream client): the server's
 * thread pool, without the reserved threads Jetty's execution strategies try first
 * ({@link org.eclipse.jetty.util.thread.TryExecutor}), and running in place the two selector
 * tasks that open a socket's connection.
 *
 * <p>With a reserved thread at hand, Jetty's selector hands selecting over to it for every
 * task that may block or not ({@code EITHER}, such as an HTTP/2 connection's read) and runs
 * the task itself: one thread wake-up per DATA frame. A tunnel's stream never blocks, so
 * here the task runs in place on the selector thread ({@code PRODUCE_INVOKE_CONSUME}), and only
 * tasks that may block (a request to a handler that can block) go to the pool.</p>
 *
 * <p>Jetty's selector also hands the pool the creation of the endpoint and connection of every
 * socket it has just accepted or connected ({@code ManagedSelector.Accept},
 * {@code ManagedSelector.CreateEndPoint}, given to this executor by the selector thread). Adit's
 * connections never block while opening, so those run here, on the selector thread: a thread
 * wake-up less per accepted and per connected socket, two per HTTP/1.1 tunnel. Both catch
 * whatever they throw. The last step of a socket's close ({@code DestroyEndPoint}, which calls
 * its connection's {@code onClose}) runs here only for the socket of a tunnel's side, whose
 * {@code onClose} never blocks ({@link ResetAwareEndPoint#claimCloseInPlace}); it runs wherever
 * the close happens, so any other connection's goes to the pool as before. The three are known
 * by name: a Jetty that renames them is served by the pool as before
 * ({@code InPlaceExecutorTest} notices).</p>
 */
final class InPlaceExecutor implements Executor
{
    private static final Class<?> ACCEPT = selectorTask("Accept");
    private static final Class<?> CREATE_END_POINT = selectorTask("CreateEndPoint");
    private static final Class<?> DESTROY_END_POINT = selectorTask("DestroyEndPoint");

    private final Executor pool;

    InPlaceExecutor(Executor pool)
    {
        this.pool = Objects.requireNonNull(pool);
    }

    @Override
    public void execute(Runnable task)
    {
        Class<?> type = task.getClass();
        if (createsEndPoint(type) || type == DESTROY_END_POINT && ResetAwareEndPoint.claimCloseInPlace())
            task.run();
        else
            pool.execute(task);
    }

    static boolean createsEndPoint(Class<?> type)
    {
        return type == ACCEPT || type == CREATE_END_POINT;
    }

    private static Class<?> selectorTask(String name)
    {
        try
        {
            Class<?> type = Class.forName(ManagedSelector.class.getName() + "$" + name, false, ManagedSelector.class.getClassLoader());
            return Runnable.class.isAssignableFrom(type) ? type : null;
        }
        catch (ClassNotFoundException x)
        {
            return null;
        }
    }

    @Override
    public String toString()
    {
        return "InPlaceExecutor[" + pool + "]";
    }
}
