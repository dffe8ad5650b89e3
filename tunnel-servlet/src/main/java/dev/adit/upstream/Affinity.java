package dev.adit.upstream;

/**
 * Which selector a dial's upstream socket should be served by: the one serving the tunnel's
 * client side. A listener's selector names itself for its thread ({@link #enter}, Adit's own
 * listeners do, see {@code dev.adit.embed.AditServerConnector}); a dial started on that thread
 * captures it, keeps it while a name resolves on the pool or a retry waits on the scheduler, and
 * hands it to the client connector in the connect's context
 * ({@link TcpUpstream#LOCAL_SELECTOR_CONTEXT_KEY}).
 */
public final class Affinity
{
    private static final ThreadLocal<Object> HOME = new ThreadLocal<>();

    private Affinity()
    {
    }

    /** Called on a selector's thread, by the selector: dials started here are to be served by {@code home}. */
    public static void enter(Object home)
    {
        if (HOME.get() != home)
            HOME.set(home);
    }

    /** Called on a selector's thread when it stops selecting for good. */
    public static void leave()
    {
        HOME.remove();
    }

    /** @return the selector this thread runs, as it named itself, or null */
    public static Object home()
    {
        return HOME.get();
    }

    /** Runs {@code dial} with {@code home} as this thread's home: for a request handled off its selector's thread. */
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
            if (outer == null)
                HOME.remove();
            else
                HOME.set(outer);
        }
    }
}
