package dev.adit.config;

import java.util.Objects;

/**
 * A configured endpoint: a host (name or IP literal, IPv6 without brackets) and a port.
 *
 * @param host the name or literal
 * @param port 1 to 65535
 */
public record HostPort(String host, int port)
{
    public HostPort
    {
        Objects.requireNonNull(host, "host");
        if (port < 1 || port > 65535)
            throw new IllegalArgumentException("port " + port);
    }

    @Override
    public String toString()
    {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
