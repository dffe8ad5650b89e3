package dev.adit.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of every tunnel: how long to wait for the upstream connect, when a quiet tunnel is
 * closed, the longest a tunnel may live, and the size of the pooled buffer each direction
 * borrows while it moves bytes.
 *
 * @param connectTimeout how long the upstream TCP connect may take before the client gets 504
 * @param idleTimeout    a tunnel with no bytes in either direction for this long is closed;
 *                       {@link Duration#ZERO} disables it (not recommended: a lost FIN leaks)
 * @param maxDuration    a tunnel is closed after this long whatever it does; zero disables it
 * @param bufferSize     bytes per direction read from one side before being written to the other
 */
public record TunnelConfig(Duration connectTimeout, Duration idleTimeout, Duration maxDuration, Size bufferSize)
{
    public static final TunnelConfig DEFAULTS = new TunnelConfig(
        Duration.ofSeconds(10), Duration.ofHours(1), Duration.ZERO, Size.ofKibibytes(64));

    public TunnelConfig
    {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(maxDuration, "maxDuration");
        Objects.requireNonNull(bufferSize, "bufferSize");
    }

    public TunnelConfig withConnectTimeout(Duration timeout)
    {
        return new TunnelConfig(timeout, idleTimeout, maxDuration, bufferSize);
    }

    public TunnelConfig withIdleTimeout(Duration timeout)
    {
        return new TunnelConfig(connectTimeout, timeout, maxDuration, bufferSize);
    }

    public TunnelConfig withMaxDuration(Duration duration)
    {
        return new TunnelConfig(connectTimeout, idleTimeout, duration, bufferSize);
    }
}
