package dev.adit.core;

import java.util.List;

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
        for (TunnelListener listener : listeners)
        {
            try
            {
                listener.onOpened(tunnel);
            }
            catch (Throwable x)
            {
                LOG.warn("tunnel {}: listener {} failed in onOpened", tunnel.id(), listener, x);
            }
        }
    }

    @Override
    public void onClosed(TunnelInfo tunnel, TunnelFailure outcome, Throwable cause)
    {
        for (TunnelListener listener : listeners)
        {
            try
            {
                listener.onClosed(tunnel, outcome, cause);
            }
            catch (Throwable x)
            {
                LOG.warn("tunnel {}: listener {} failed in onClosed", tunnel.id(), listener, x);
            }
        }
    }

    @Override
    public void onRefused(TunnelInfo tunnel, TunnelFailure failure, Throwable cause)
    {
        for (TunnelListener listener : listeners)
        {
            try
            {
                listener.onRefused(tunnel, failure, cause);
            }
            catch (Throwable x)
            {
                LOG.warn("tunnel {}: listener {} failed in onRefused", tunnel.id(), listener, x);
            }
        }
    }

    @Override
    public String toString()
    {
        return "TunnelListener.all" + listeners;
    }
}
