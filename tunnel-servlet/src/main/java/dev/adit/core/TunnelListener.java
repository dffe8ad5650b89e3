package dev.adit.core;

/**
 * Observes tunnels. Events are paired: every tunnel that is opened is closed exactly once, and a
 * tunnel that never opened (its setup failed) produces neither. Methods are called on I/O
 * threads and must not block; exceptions they throw are logged and ignored.
 */
public interface TunnelListener
{
    TunnelListener NOOP = new TunnelListener() {};

    /** Both sides are connected and bytes start to flow. */
    default void onOpened(TunnelInfo tunnel)
    {
    }

    /**
     * The tunnel ended.
     *
     * @param outcome {@link TunnelFailure#COMPLETED} for a clean end, otherwise why it ended
     * @param cause   the underlying exception, null for a clean end
     */
    default void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
    {
    }
}
