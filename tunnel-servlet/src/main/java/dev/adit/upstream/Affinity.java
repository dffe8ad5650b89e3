package dev.adit.upstream;

/**
 * Which selector a dial's upstream socket should be served by: the one serving the tunnel's
 * client socket. The caller that starts a dial names it for the duration of the call
 * ({@link #within}); the dial captures it, keeps it while a name resolves on the pool or a retry
 * waits on the scheduler, and hands it to the client connector in the connect's context
 * ({@link TcpUpstream#LOCAL_SELECTOR_CONTEXT_KEY}). What the home is, and whether it can serve
 * the socket, is for that client connector to judge ({@code dev.adit.embed.AditClientConnector}).
 */
public final class Affinity
{
    private static final ThreadLocal<Object> HOME = new ThreadLocal<>();

    private Affinity()
    {
    }

    /** Runs {@code dial} with {@code home} (null: none) as the home of the dials it starts. */
    public static void within(Object home, Runnable dial)
    {
        Object outer = HOME.get();
        HOME.set(home);
        try
        {
            dial.run();
        }
        finally
        {
            // Set, not removed: once per tunnel, a removal would cost a new map entry at the next set.
            HOME.set(outer);
        }
    }

    /** @return the home named by the {@link #within} this thread is in, or null */
    static Object home()
    {
        return HOME.get();
    }
}
