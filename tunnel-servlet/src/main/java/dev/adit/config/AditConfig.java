package dev.adit.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The whole validated configuration of an Adit instance. Built by
 * {@code dev.adit.config.mp.ConfigBinder} from MicroProfile Config, or directly by embedders.
 *
 * @param listeners   the listening sockets
 * @param idleTimeout how long an HTTP connection with no tunnel and no request may stay open
 * @param tunnel      per-tunnel settings
 * @param http2       HTTP/2 settings of the listeners
 * @param policy      destination policy rules
 */
public record AditConfig(List<ListenerConfig> listeners, Duration idleTimeout, TunnelConfig tunnel, Http2Config http2, PolicyConfig policy)
{
    public AditConfig
    {
        listeners = List.copyOf(listeners);
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(tunnel, "tunnel");
        Objects.requireNonNull(http2, "http2");
        Objects.requireNonNull(policy, "policy");
    }
}
