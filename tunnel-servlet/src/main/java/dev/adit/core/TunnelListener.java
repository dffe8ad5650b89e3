package dev.adit.core;

import java.util.List;

/**
 * Observes tunnels. Every tunnel reports its end exactly once: a tunnel that opens reports
 * {@link #onOpened} and later {@link #onClosed}; one that never opens reports
 * {@link #onRefused} alone. (A tunnel its creator releases with {@link Tunnel#dispose} reports
 * nothing; that is for tunnels no one accounts for.) Methods are called on I/O threads and
 * must not block; exceptions they throw are logged and ignored.
 */
public interface TunnelListener
{
    TunnelListener NOOP = new TunnelListener() {};

    /**
     * @return a listener that passes every event to each of {@code listeners} in order; one
     *         that throws does not keep the others from the event
     */
    static TunnelListener all(TunnelListener... listeners)
    {
        return new CompositeTunnelListener(List.of(listeners));
    }

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

    /**
     * The tunnel never opened and never will: the client was answered with a non-2xx status
     * ({@link TunnelInfo#responseCode()}: a 4xx or 5xx of Adit's, or an upstream's refusal
     * relayed), or the setup was abandoned because a side went away first (response code 0,
     * or the 200 that reached no one). Reported instead of {@link #onOpened} and
     * {@link #onClosed}, so that every request for a tunnel is accounted for once.
     *
     * @param failure why, e.g. {@link TunnelFailure#NO_ROUTE} or {@link TunnelFailure#CONNECT_FAILED}
     * @param cause   the underlying exception, or null
     */
    default void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
    {
    }
}
