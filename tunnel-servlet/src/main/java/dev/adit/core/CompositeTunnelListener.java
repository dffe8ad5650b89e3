package dev.adit.core;

import java.util.List;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Several listeners as one ({@link TunnelListener#all}): the server has its own (the access
 * log) besides the one an embedder passes. Each call is guarded on its own, so that a failing
 * listener neither hides the event from the next nor reaches the tunnel.
 */
final class CompositeTunnelListener implements TunnelListener
{
    private static final Logger LOG = LoggerFactory.getLogger(CompositeTunnelListener.class);

    private final List<TunnelListener> listeners;

    CompositeTunnelListener(List<TunnelListener> listeners)
    {
        this.listeners = List.copyOf(listeners);
    }

    @Override
    public void onOpened(TunnelInfo tunnel)
    {
        each(tunnel, "onOpened", listener -> listener.onOpened(tunnel));
    }

    @Override
    public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
    {
        each(tunnel, "onClosed", listener -> listener.onClosed(tunnel, outcome, cause));
    }

    @Override
    public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
    {
        each(tunnel, "onRefused", listener -> listener.onRefused(tunnel, failure, cause));
    }

    /** Tells every listener, each guarded on its own so that one failing does not silence the next. */
    private void each(TunnelInfo tunnel, String event, Consumer<TunnelListener> call)
    {
        for (TunnelListener listener : listeners)
        {
            try
            {
                call.accept(listener);
            }
            catch (Throwable x)
            {
                LOG.warn("tunnel {}: listener {} failed in {}", tunnel.id(), listener, event, x);
            }
        }
    }

    @Override
    public String toString()
    {
        return "TunnelListener.all" + listeners;
    }
}
